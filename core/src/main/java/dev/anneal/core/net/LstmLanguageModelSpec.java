package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A next-token language model: {@code embedding} of token ids, LSTM layers {@code lstm_0 … lstm_{layers-1}}, and a
 * softmax {@code head} over the vocabulary at every time step.
 *
 * <p>Shapes (DL4J's NCW layout, {@code L} = sequence length, which may differ between minibatches):
 * <ul>
 *   <li>features: token ids as floating-point numbers, {@code [batch, 1, L]};</li>
 *   <li>feature mask (optional, for padded sequences): {@code [batch, L]}, 1 for real steps, 0 for padding;</li>
 *   <li>labels: one-hot next tokens {@code [batch, vocabSize, L]}, with the same {@code [batch, L]} mask;</li>
 *   <li>output: next-token probabilities {@code [batch, vocabSize, L]}.</li>
 * </ul>
 * {@link LanguageModelBatches#languageModelBatch} produces exactly these arrays. DL4J's score is the cross-entropy
 * summed over a sequence's unmasked steps and averaged over the sequences, not over tokens, so divide by the mean
 * number of unmasked steps before reading it as a per-token loss (e.g. for perplexity).
 *
 * @param vocabSize number of distinct token ids, {@code 0 … vocabSize-1}
 * @param embeddingSize width of the token embedding
 * @param hiddenSize width of every LSTM layer
 * @param layers number of LSTM layers
 */
public record LstmLanguageModelSpec(int vocabSize, int embeddingSize, int hiddenSize, int layers)
        implements NetworkSpec {

    public LstmLanguageModelSpec {
        // With one token the softmax is constant, so there would be nothing to predict.
        Checks.atLeast("vocabSize", 2, vocabSize);
        Checks.positive("embeddingSize", embeddingSize);
        Checks.positive("hiddenSize", hiddenSize);
        Checks.positive("layers", layers);
    }

    @Override
    public ComputationGraphConfiguration configuration(long seed, IUpdater updater, DataType dataType) {
        // recurrent(vocabSize) although each step holds a single id: DL4J M2.1's graph builder overwrites the
        // embedding's nIn with this size (recurrent(1) would leave a one-row table that rejects every id but 0).
        // DL4J's own embedding tests declare it this way; the feature arrays are still [batch, 1, L].
        LayerChain chain = new LayerChain(seed, updater, dataType, InputType.recurrent(vocabSize));
        chain.add("embedding", new EmbeddingSequenceLayer.Builder()
                .nIn(vocabSize)
                .nOut(embeddingSize)
                // The embedding is a lookup: DL4J's global default activation would be sigmoid.
                .activation(Activation.IDENTITY)
                .hasBias(false)
                // Sequence length is taken from each minibatch instead of being fixed in the configuration.
                .inferInputLength(true)
                .outputDataFormat(RNNFormat.NCW)
                .build());
        for (int i = 0; i < layers; i++) {
            chain.add(lstmName(i), new LSTM.Builder()
                    .nOut(hiddenSize)
                    .activation(Activation.TANH)
                    .build());
        }
        chain.add(HEAD, new RnnOutputLayer.Builder(loss().lossFunction())
                .nOut(vocabSize)
                .activation(loss().outputActivation())
                .dataFormat(RNNFormat.NCW)
                .build());
        return chain.build();
    }

    @Override
    public List<String> encoderLayers() {
        List<String> names = new ArrayList<>(layers + 1);
        names.add("embedding");
        for (int i = 0; i < layers; i++) {
            names.add(lstmName(i));
        }
        return List.copyOf(names);
    }

    /** Always {@link Loss#SOFTMAX_CROSS_ENTROPY}: the head predicts one token out of the vocabulary. */
    @Override
    public Loss loss() {
        return Loss.SOFTMAX_CROSS_ENTROPY;
    }

    @Override
    public String kind() {
        return "lstm-lm";
    }

    private static String lstmName(int i) {
        return "lstm_" + i;
    }
}

package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A multilayer perceptron: ReLU layers {@code dense_0, dense_1, …} then the {@code head}; with no hidden layers it is
 * a linear (logistic / softmax) regression.
 *
 * <p>Input: features {@code [batch, nIn]}. Output: {@code [batch, nOut]}.
 *
 * @param nIn number of input features
 * @param hidden widths of the hidden layers, input side first; may be empty
 * @param nOut number of outputs
 * @param loss the head's loss, which also fixes its activation
 */
public record MlpSpec(int nIn, List<Integer> hidden, int nOut, Loss loss) implements NetworkSpec {

    public MlpSpec {
        Checks.positive("nIn", nIn);
        hidden = Checks.positiveSizes("hidden", hidden);
        Checks.positive("nOut", nOut);
        Checks.loss(loss, nOut);
    }

    @Override
    public ComputationGraphConfiguration configuration(long seed, IUpdater updater, DataType dataType) {
        LayerChain chain = new LayerChain(seed, updater, dataType, InputType.feedForward(nIn));
        for (int i = 0; i < hidden.size(); i++) {
            chain.add(denseName(i), new DenseLayer.Builder()
                    .nOut(hidden.get(i))
                    .activation(Activation.RELU)
                    // He initialisation keeps ReLU activations from shrinking layer by layer.
                    .weightInit(WeightInit.RELU)
                    .build());
        }
        chain.add(HEAD, new OutputLayer.Builder(loss.lossFunction())
                .nOut(nOut)
                .activation(loss.outputActivation())
                .build());
        return chain.build();
    }

    @Override
    public List<String> encoderLayers() {
        List<String> names = new ArrayList<>(hidden.size());
        for (int i = 0; i < hidden.size(); i++) {
            names.add(denseName(i));
        }
        return List.copyOf(names);
    }

    @Override
    public String kind() {
        return "mlp";
    }

    private static String denseName(int i) {
        return "dense_" + i;
    }
}

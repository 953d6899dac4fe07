package dev.anneal.core.task;

import dev.anneal.core.AnnealException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointFitTest {
    private static final CharVocabulary VOCAB = CharVocabulary.fromCounts(
            Map.of((int) 'a', 5L, (int) 'b', 4L, (int) 'c', 3L, (int) 'd', 2L, (int) 'e', 1L, (int) 'f', 1L), 10);

    @TempDir
    java.nio.file.Path dir;

    @Test
    void aPretrainedLanguageModelFitsTheClassifierAsWrittenAndReadByTheStore() {
        var graph = new LstmLanguageModelSpec(VOCAB.size(), 3, 4, 2).build(1, new Adam(0.01), DataType.FLOAT);
        CheckpointStore store = new CheckpointStore(new Configuration());
        Path run = new Path(dir.toUri());
        store.writeStep(run, new Checkpoint(graph, VOCAB, new CheckpointInfo("pretrain", 5, 1, 1,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_1", "head", "head", "vocabularySize", VOCAB.size()),
                Map.of(), Map.of())));

        Checkpoint read = store.read(run, false);

        assertEquals(List.of(), CheckpointFit.differences(read, store.manifest(run),
                List.of("embedding", "lstm_0"), 256));
    }

    @Test
    void everyDifferenceIsListedInOneError() {
        // A network that reads 12 token ids in sequences of exactly 64, has no 'head', and whose manifest disagrees
        // with its vocabulary (8 entries) on every count.
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(1)
                .updater(new Adam(0.01)).graphBuilder()
                .addInputs("input")
                .addLayer("embedding", new EmbeddingSequenceLayer.Builder().nIn(12).nOut(3).hasBias(false)
                        .inputLength(64).inferInputLength(false).build(), "input")
                .addLayer("lstm_0", new LSTM.Builder().nIn(3).nOut(4).build(), "embedding")
                .addLayer("out", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .activation(Activation.SOFTMAX).nIn(4).nOut(12).build(), "lstm_0")
                .setOutputs("out")
                .build());
        graph.init();
        Checkpoint checkpoint = new Checkpoint(graph, VOCAB, new CheckpointInfo("pretrain", 5, 1, 1,
                Map.of("kind", "mlp", "encoderOutput", "lstm_7", "vocabularySize", 40), Map.of(), Map.of()));
        Map<String, Object> manifest = Map.of("vocabulary", Map.of("kind", "char", "size", 9, "sha256", "0000"));

        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointFit.require(
                "hdfs://nn/runs/lm/checkpoints/step-5", checkpoint, manifest,
                List.of("embedding", "lstm_9", "head"), 200));

        String m = e.getMessage();
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode());
        assertTrue(m.startsWith("hdfs://nn/runs/lm/checkpoints/step-5 does not fit the fine-tune config "
                + "(10 differences): 1) "), m);
        for (String expected : List.of(
                "network kind is 'mlp'; a text classifier needs one of [lstm-lm]",
                "vocabulary hash: vocab.json's is " + VOCAB.sha256() + ", the manifest records 0000",
                "vocabulary size: vocab.json has 8 entries, the manifest records 9",
                "network.vocabularySize is 40, but vocab.json has 8 entries",
                "input shape: layer 'embedding' embeds 12 token ids, but vocab.json has 8",
                "input shape: layer 'embedding' reads sequences of exactly 64 tokens, but text.maxLength is 200",
                "network.encoderOutput names 'lstm_7', which is not an encoder layer of the network; "
                        + "encoder layers: [embedding, lstm_0, out]",
                "the network has no 'head' to replace",
                "task.freeze names 'lstm_9', which is not an encoder layer",
                "task.freeze names 'head', the layer fine-tuning replaces",
                "10) ")) {
            assertTrue(m.contains(expected), "'" + expected + "' in: " + m);
        }
    }

    @Test
    void theClassifiersInputMustBeATokenEmbedding() {
        ComputationGraph graph = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("input")
                .addLayer("lstm_0", new LSTM.Builder().nIn(8).nOut(4).build(), "input")
                .addLayer("head", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .activation(Activation.SOFTMAX).nIn(4).nOut(8).build(), "lstm_0")
                .setOutputs("head")
                .build());
        graph.init();
        Checkpoint checkpoint = new Checkpoint(graph, VOCAB, new CheckpointInfo("pretrain", 5, 1, 1,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0"), Map.of(), Map.of()));

        assertEquals(List.of("input: the network's input feeds 'lstm_0', which is not a token embedding "
                + "(EmbeddingSequenceLayer), so it does not read token ids"),
                CheckpointFit.differences(checkpoint, null, List.of(), 256));
    }
}

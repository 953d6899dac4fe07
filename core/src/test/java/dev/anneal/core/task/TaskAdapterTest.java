package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.AnnealException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

class TaskAdapterTest {
    private static final String TEXT = "good service, thanks! terrible: never again. fine. awful product.";
    private static final int HIDDEN = 5;

    private static CharVocabulary vocab;
    private static ComputationGraph pretrainedGraph;
    private static Checkpoint pretrained;

    @BeforeAll
    static void pretrain() {
        Map<Integer, Long> counts = new HashMap<>();
        TEXT.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        vocab = CharVocabulary.fromCounts(counts, 100);
        pretrainedGraph = new LstmLanguageModelSpec(vocab.size(), 4, HIDDEN, 1).build(42, new Adam(1e-3),
                DataType.FLOAT);
        int[] ids = vocab.encode(TEXT);
        pretrainedGraph.fit(LanguageModelBatches.languageModelBatch(
                new int[][] {Arrays.copyOfRange(ids, 0, 16), Arrays.copyOfRange(ids, 16, 32)}, vocab.size()));
        pretrained = checkpoint(pretrainedGraph, lstmNetwork());
    }

    private static Map<String, Object> lstmNetwork() {
        return Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head");
    }

    private static Checkpoint checkpoint(ComputationGraph graph, Map<String, Object> network) {
        return new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", 1, 1, 42, network, Map.of(), Map.of()));
    }

    private static ComputationGraph adapt(String pooling, List<String> freeze) {
        return TaskAdapter.binaryClassifier(pretrained, pooling, freeze, 1e-2, 7);
    }

    /** Three records of different lengths, so the batch is padded and masked. */
    private static DataSet batch(int maxLength) {
        int[][] tokens = {vocab.encode("good service"), vocab.encode("awful"), vocab.encode("terrible: never")};
        return ClassificationBatches.binary(tokens, new int[] {1, 0, 0}, maxLength);
    }

    private static INDArray predict(ComputationGraph graph, DataSet batch) {
        INDArray out = graph.output(false, new INDArray[] {batch.getFeatures()},
                new INDArray[] {batch.getFeaturesMaskArray()})[0];
        graph.clearLayerMaskArrays();
        return out;
    }

    private static CheckpointException refused(Runnable adapt) {
        CheckpointException e = assertThrows(CheckpointException.class, adapt::run);
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode());
        return e;
    }

    @Test
    void languageModelHeadIsReplacedByAPooledSigmoidHead() {
        ComputationGraph g = adapt("mean", List.of("embedding"));

        List<String> names = Arrays.stream(g.getVertices()).map(GraphVertex::getVertexName).sorted().toList();
        assertEquals(List.of("embedding", "head", "input", "lstm_0", "pool"), names);
        assertEquals(List.of("head"), g.getConfiguration().getNetworkOutputs());
        assertEquals(List.of("pool"), g.getConfiguration().getVertexInputs().get("head"));
        assertEquals(List.of("lstm_0"), g.getConfiguration().getVertexInputs().get("pool"));

        Object head = g.getLayer("head").conf().getLayer();
        assertFalse(head instanceof RnnOutputLayer, "the next-character head is gone");
        OutputLayer out = assertInstanceOf(OutputLayer.class, head);
        assertEquals(1, out.getNOut());
        assertEquals(HIDDEN, out.getNIn());
        assertInstanceOf(ActivationSigmoid.class, out.getActivationFn());
    }

    @Test
    void frozenEmbeddingKeepsThePretrainedWeightsAndTheEncoderStartsFromThem() {
        ComputationGraph g = adapt("mean", List.of("embedding"));

        assertInstanceOf(FrozenLayer.class, g.getLayer("embedding"));
        assertFalse(g.getLayer("lstm_0") instanceof FrozenLayer, "only the named layer and its inputs freeze");
        assertEquals(pretrainedGraph.getLayer("embedding").params(), g.getLayer("embedding").params());
        assertEquals(pretrainedGraph.getLayer("lstm_0").params(), g.getLayer("lstm_0").params());
    }

    @Test
    void trainingChangesTheEncoderButNotTheFrozenEmbedding() {
        ComputationGraph g = adapt("mean", List.of("embedding"));
        INDArray embedding = g.getLayer("embedding").params().dup();
        INDArray lstm = g.getLayer("lstm_0").params().dup();
        INDArray head = g.getLayer("head").params().dup();

        DataSet batch = batch(20);
        for (int i = 0; i < 3; i++) {
            g.fit(batch);
        }

        assertEquals(embedding, g.getLayer("embedding").params(), "frozen embedding unchanged");
        assertNotEquals(lstm, g.getLayer("lstm_0").params(), "lstm_0 trained");
        assertNotEquals(head, g.getLayer("head").params(), "head trained");
        assertTrue(Double.isFinite(g.score()), "finite loss " + g.score());
    }

    @Test
    void freezingTheLstmAlsoFreezesTheEmbeddingThatFeedsIt() {
        ComputationGraph g = adapt("last", List.of("lstm_0"));
        INDArray embedding = g.getLayer("embedding").params().dup();
        INDArray lstm = g.getLayer("lstm_0").params().dup();

        for (int i = 0; i < 3; i++) {
            g.fit(batch(20));
        }

        assertEquals(embedding, g.getLayer("embedding").params());
        assertEquals(lstm, g.getLayer("lstm_0").params());
    }

    @Test
    void nothingFrozenTrainsTheEmbeddingToo() {
        ComputationGraph g = adapt("max", List.of());
        INDArray embedding = g.getLayer("embedding").params().dup();

        g.fit(batch(20));
        g.fit(batch(20));

        assertFalse(g.getLayer("embedding") instanceof FrozenLayer);
        assertNotEquals(embedding, g.getLayer("embedding").params());
    }

    @Test
    void everyPoolingGivesOneProbabilityPerRecordUnaffectedByPadding() {
        for (String pooling : List.of("mean", "max", "last")) {
            ComputationGraph g = adapt(pooling, List.of("embedding"));

            INDArray tight = predict(g, batch(15));
            INDArray padded = predict(g, batch(40));

            assertArrayEquals(new long[] {3, 1}, tight.shape(), pooling);
            for (int b = 0; b < 3; b++) {
                double p = tight.getDouble(b, 0);
                assertTrue(p > 0 && p < 1, pooling + ": probability " + p);
                assertEquals(p, padded.getDouble(b, 0), 1e-5, pooling + ": padding changed record " + b);
            }
        }
    }

    @Test
    void poolingsDifferFromEachOther() {
        INDArray mean = predict(adapt("mean", List.of()), batch(20));
        INDArray max = predict(adapt("max", List.of()), batch(20));
        INDArray last = predict(adapt("last", List.of()), batch(20));

        assertNotEquals(mean, max);
        assertNotEquals(mean, last);
    }

    @Test
    void headInitialisationFollowsTheSeed() {
        ComputationGraph a = TaskAdapter.binaryClassifier(pretrained, "mean", List.of("embedding"), 1e-2, 7);
        ComputationGraph b = TaskAdapter.binaryClassifier(pretrained, "mean", List.of("embedding"), 1e-2, 7);
        ComputationGraph c = TaskAdapter.binaryClassifier(pretrained, "mean", List.of("embedding"), 1e-2, 8);

        assertEquals(a.getLayer("head").params(), b.getLayer("head").params(), "same seed, same head");
        assertNotEquals(a.getLayer("head").params(), c.getLayer("head").params(), "another seed, another head");
    }

    @Test
    void unknownFreezeLayerIsRefusedNamingIt() {
        CheckpointException e = refused(() -> adapt("mean", List.of("embedding", "lstm_9")));

        assertTrue(e.getMessage().contains("'lstm_9'"), e.getMessage());
        assertTrue(e.getMessage().contains("lstm_0"), "lists the layers that exist: " + e.getMessage());
    }

    @Test
    void freezingTheOldHeadIsRefused() {
        CheckpointException e = refused(() -> adapt("mean", List.of("head")));

        assertTrue(e.getMessage().contains("'head'"), e.getMessage());
    }

    @Test
    void networkOfAnotherKindIsRefusedNamingTheKind() {
        Checkpoint mlp = checkpoint(pretrainedGraph, Map.of("kind", "mlp", "encoderOutput", "lstm_0"));

        CheckpointException e = refused(
                () -> TaskAdapter.binaryClassifier(mlp, "mean", List.of(), 1e-2, 7));

        assertTrue(e.getMessage().contains("'mlp'"), e.getMessage());
        assertTrue(e.getMessage().contains("lstm-lm"), e.getMessage());
    }

    @Test
    void encoderOutputThatIsNotALayerIsRefusedNamingIt() {
        Checkpoint wrong = checkpoint(pretrainedGraph, Map.of("kind", "lstm-lm", "encoderOutput", "lstm_3"));

        CheckpointException e = refused(
                () -> TaskAdapter.binaryClassifier(wrong, "mean", List.of(), 1e-2, 7));

        assertTrue(e.getMessage().contains("'lstm_3'"), e.getMessage());
        assertTrue(e.getMessage().contains("lstm_0"), e.getMessage());
    }

    @Test
    void missingEncoderOutputIsRefused() {
        Checkpoint missing = checkpoint(pretrainedGraph, Map.of("kind", "lstm-lm"));

        CheckpointException e = refused(
                () -> TaskAdapter.binaryClassifier(missing, "mean", List.of(), 1e-2, 7));

        assertTrue(e.getMessage().contains("encoderOutput"), e.getMessage());
    }

    @Test
    void sourceGraphIsNotModified() {
        INDArray params = pretrainedGraph.params().dup();
        String conf = pretrainedGraph.getConfiguration().toJson();

        adapt("mean", List.of("embedding")).fit(batch(20));

        assertEquals(params, pretrainedGraph.params());
        assertEquals(conf, pretrainedGraph.getConfiguration().toJson());
        assertFalse(pretrainedGraph.getLayer("embedding") instanceof FrozenLayer);
        assertInstanceOf(RnnOutputLayer.class, pretrainedGraph.getLayer("head").conf().getLayer());
        assertEquals(vocab.size(), ((RnnOutputLayer) pretrainedGraph.getLayer("head").conf().getLayer()).getNOut());
    }
}

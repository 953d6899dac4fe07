package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMAE;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/** Heads, what trains when, learning-rate groups and adapters, on a tiny two-layer language model. */
class FinetunePlanTest {
    private static final String TEXT = "good service, thanks! terrible: never again. fine. awful product.";
    private static CharVocabulary vocab;
    private static Checkpoint pretrained;

    @BeforeAll
    static void pretrain() {
        Map<Integer, Long> counts = new HashMap<>();
        TEXT.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        vocab = CharVocabulary.fromCounts(counts, 100);
        ComputationGraph g = new LstmLanguageModelSpec(vocab.size(), 4, 6, 2).build(42, new Adam(1e-3),
                DataType.FLOAT);
        int[] ids = vocab.encode(TEXT);
        g.fit(LanguageModelBatches.languageModelBatch(new int[][] {Arrays.copyOfRange(ids, 0, 16)}, vocab.size()));
        pretrained = new Checkpoint(g, vocab, new CheckpointInfo("pretrain", 1, 1, 42,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_1", "head", "head"), Map.of(), Map.of()));
    }

    private static FinetuneSettings settings(String task, List<String> labels, int freezeFirst, int unfreezeEvery,
                                             int adapterSize, List<String> rates) {
        return new FinetuneSettings(task, labels, "mae", freezeFirst, unfreezeEvery, adapterSize, rates, 0.0,
                "constant", 1, 0.5, 0, 0, 0.2, 1.0, 1, "", 2);
    }

    private static TaskAdapter.Plan plan(FinetuneSettings s) {
        return new TaskAdapter.Plan("mean", List.of(), s, 0.05, 10, 3, 7);
    }

    private static DataSet batch(int outputs) {
        int[][] tokens = {vocab.encode("good service"), vocab.encode("awful"), vocab.encode("terrible: never")};
        DataSet d = ClassificationBatches.binary(tokens, new int[] {1, 0, 0}, 16);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, 3, outputs);
        for (int i = 0; i < 3; i++) {
            labels.putScalar(i, i % outputs, 1);
        }
        d.setLabels(labels);
        return d;
    }

    @Test
    void eachTaskGetsItsHead() {
        ComputationGraph multi = TaskAdapter.adapt(pretrained, plan(settings("multiclass", List.of("a", "b", "c"),
                0, 0, 0, List.of())));
        OutputLayer m = assertInstanceOf(OutputLayer.class, multi.getLayer("head").conf().getLayer());
        assertEquals(3, m.getNOut());
        assertInstanceOf(ActivationSoftmax.class, m.getActivationFn());
        assertInstanceOf(LossMCXENT.class, m.getLossFn());
        INDArray p = multi.output(batch(3).getFeatures())[0];
        assertArrayEquals(new long[] {3, 3}, p.shape());
        assertEquals(1.0, p.getRow(0).sumNumber().doubleValue(), 1e-5, "softmax rows sum to 1");

        ComputationGraph reg = TaskAdapter.adapt(pretrained, plan(settings("regression", List.of(), 0, 0, 0,
                List.of())));
        OutputLayer r = assertInstanceOf(OutputLayer.class, reg.getLayer("head").conf().getLayer());
        assertEquals(1, r.getNOut());
        assertInstanceOf(ActivationIdentity.class, r.getActivationFn());
        assertInstanceOf(LossMAE.class, r.getLossFn());

        ComputationGraph labels = TaskAdapter.adapt(pretrained, plan(settings("multilabel", List.of("x", "y"), 0, 0,
                0, List.of())));
        INDArray q = labels.output(batch(2).getFeatures())[0];
        assertArrayEquals(new long[] {3, 2}, q.shape());
        assertNotEquals(1.0, q.getRow(0).sumNumber().doubleValue(), 1e-3, "independent sigmoids, not a softmax");
    }

    @Test
    void freezeFirstKeepsTheBottomLayersAndGradualUnfreezingThawsFromTheTop() {
        TaskAdapter.Plan p = plan(settings("binary", List.of(), 3, 2, 0, List.of()));

        assertEquals(Set.of("embedding", "lstm_0", "lstm_1"), TaskAdapter.frozenAt(pretrained, p, 1));
        assertEquals(Set.of("embedding", "lstm_0", "lstm_1"), TaskAdapter.frozenAt(pretrained, p, 2));
        assertEquals(Set.of("embedding", "lstm_0"), TaskAdapter.frozenAt(pretrained, p, 3));
        assertEquals(Set.of("embedding"), TaskAdapter.frozenAt(pretrained, p, 5));
        assertEquals(Set.of(), TaskAdapter.frozenAt(pretrained, p, 7));
    }

    @Test
    void refreezingCarriesTheTrainedParametersAndThawedLayersLearn() {
        TaskAdapter.Plan p = plan(settings("binary", List.of(), 3, 1, 0, List.of()));
        ComputationGraph g = TaskAdapter.adapt(pretrained, p);
        assertInstanceOf(FrozenLayer.class, g.getLayer("lstm_1"));
        DataSet b = batch(1);
        g.fit(b);
        INDArray head = g.getLayer("head").params().dup();
        INDArray lstm1 = g.getLayer("lstm_1").params().dup();

        ComputationGraph next = TaskAdapter.refreeze(pretrained, p, TaskAdapter.frozenAt(pretrained, p, 2), g);
        assertEquals(head, next.getLayer("head").params(), "the head carries over");
        assertEquals(lstm1, next.getLayer("lstm_1").params());
        assertTrue(!(next.getLayer("lstm_1") instanceof FrozenLayer), "lstm_1 thawed");
        INDArray lstm0 = next.getLayer("lstm_0").params().dup();
        next.fit(b);
        assertNotEquals(lstm1, next.getLayer("lstm_1").params(), "the thawed layer learns");
        assertEquals(lstm0, next.getLayer("lstm_0").params(), "the one below stays");
    }

    @Test
    void aLearningRateFactorOfZeroHoldsAGroupStill() {
        ComputationGraph g = TaskAdapter.adapt(pretrained, plan(settings("binary", List.of(), 0, 0, 0,
                List.of("encoder=0", "lstm_1=1"))));
        INDArray lstm0 = g.getLayer("lstm_0").params().dup();
        INDArray lstm1 = g.getLayer("lstm_1").params().dup();
        g.fit(batch(1));
        assertEquals(lstm0, g.getLayer("lstm_0").params(), "encoder group at factor 0");
        assertNotEquals(lstm1, g.getLayer("lstm_1").params(), "a layer's own factor wins over its group's");
    }

    @Test
    void adaptersTrainAloneOverAFrozenEncoderAndStartAsTheIdentity() {
        TaskAdapter.Plan withAdapters = plan(settings("binary", List.of(), 0, 0, 3, List.of()));
        ComputationGraph g = TaskAdapter.adapt(pretrained, withAdapters);
        ComputationGraph plain = TaskAdapter.adapt(pretrained, plan(settings("binary", List.of(), 0, 0, 0,
                List.of())));
        DataSet b = batch(1);

        assertEquals(plain.feedForward(b.getFeatures(), false).get("pool"),
                g.feedForward(b.getFeatures(), false).get("pool"), "fresh adapters change nothing");
        assertInstanceOf(FrozenLayer.class, g.getLayer("embedding"));
        assertInstanceOf(FrozenLayerWithBackprop.class, g.getLayer("lstm_1"), "passes the gradient to adapter_lstm_0");
        long adapters = 2 * BottleneckAdapter.parameters(6, 3);
        assertEquals(adapters + 6 + 1, TaskAdapter.trainableParameters(g));
        assertEquals(plain.numParams(), TaskAdapter.trainableParameters(plain), "full fine-tuning trains all");
        assertTrue(TaskAdapter.trainableParameters(plain) > 5 * TaskAdapter.trainableParameters(g),
                TaskAdapter.trainableParameters(plain) + " vs " + TaskAdapter.trainableParameters(g));

        INDArray encoder = g.getLayer("lstm_0").params().dup();
        INDArray down = g.getLayer("adapter_lstm_0_down").params().dup();
        for (int i = 0; i < 3; i++) {
            g.fit(b);
        }
        assertEquals(encoder, g.getLayer("lstm_0").params());
        assertNotEquals(down, g.getLayer("adapter_lstm_0_down").params(), "the lower adapter gets a gradient");
    }

    @Test
    void settingsThatNameWhatTheCheckpointLacksAreRefusedTogether() {
        dev.anneal.core.checkpoint.CheckpointException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.anneal.core.checkpoint.CheckpointException.class, () -> CheckpointFit.require("ck", pretrained,
                        null, List.of(), 0, settings("binary", List.of(), 4, 0, 0, List.of("lstm_7=0.1"))));
        assertTrue(e.getMessage().contains("2 differences"), e.getMessage());
        assertTrue(e.getMessage().contains("'lstm_7'"), e.getMessage());
        assertTrue(e.getMessage().contains("task.freezeFirst is 4"), e.getMessage());
        CheckpointFit.require("ck", pretrained, null, List.of(), 0, settings("binary", List.of(), 3, 0, 2,
                List.of("adapter_lstm_1=2", "encoder=0.1")));
    }

    @Test
    void theConfigurationRoundTripsThroughJson() {
        FinetuneSettings s = new FinetuneSettings("multiclass", List.of("a", "b"), "mse", 1, 0, 2,
                List.of("encoder=0.1"), 0.1, "cosine", 1, 0.5, 1e-4, 1e-2, 0.3, 1.0, 2, "", 2);
        ComputationGraph g = TaskAdapter.adapt(pretrained, plan(s));
        String json = g.getConfiguration().toJson();
        assertEquals(g.getConfiguration(),
                org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(json));
    }
}

package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.ImageBatches;
import dev.anneal.core.net.Loss;
import dev.anneal.core.text.CharVocabulary;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

/** {@link TaskAdapter} and {@link CheckpointFit} on a CNN checkpoint: the head of an image classifier replaced. */
class ImageTaskAdapterTest {
    private static final CnnSpec SPEC = new CnnSpec(12, 12, 1, List.of(2, 3), 3, 6, 4, Loss.SOFTMAX_CROSS_ENTROPY, 0.2);

    private static Checkpoint checkpoint() {
        ComputationGraph graph = SPEC.build(3, new Adam(1e-2), DataType.FLOAT);
        Map<String, Object> network = Map.of("kind", "cnn", "encoderOutput", "dense", "head", "head",
                "image", Map.of("rows", 12, "cols", 12, "channels", 1), "labels", List.of("0", "1", "2", "3"));
        return new Checkpoint(graph, CharVocabulary.fromCounts(Map.of(), 0),
                new CheckpointInfo("pretrain", 1, 1, 3, network, Map.of(), Map.of()));
    }

    private static TaskAdapter.Plan plan(List<String> freeze) {
        return plan(freeze, 0);
    }

    private static TaskAdapter.Plan plan(List<String> freeze, int adapterSize) {
        FinetuneSettings s = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, adapterSize,
                List.of(), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        return new TaskAdapter.Plan("max", freeze, s, 0.01, 10, 1, 9);
    }

    private static DataSet batch() {
        byte[][] images = new byte[5][144];
        float[][] targets = new float[5][3];
        for (int i = 0; i < images.length; i++) {
            for (int p = 0; p < 144; p++) {
                images[i][p] = (byte) ((p * 37 + i * 11) % 256);
            }
            targets[i][i % 3] = 1;
        }
        return ImageBatches.of(images, targets, 144);
    }

    @Test
    void theHeadIsReplacedOnTheDenseLayerAndTheFrozenBlocksKeepTheirWeights() {
        Checkpoint pretrained = checkpoint();
        ComputationGraph adapted = TaskAdapter.adapt(pretrained, plan(List.of("pool_1")));
        assertEquals(3, adapted.getLayer("head").getParam("W").columns(), "a 3-way head for task.labels");
        assertEquals(6, adapted.getLayer("head").getParam("W").rows(), "reading the dense layer");
        for (String name : List.of("conv_0", "conv_1")) {
            assertInstanceOf(FrozenLayer.class, adapted.getLayer(name), name + " frozen");
            assertEquals(pretrained.graph().getLayer(name).params(), adapted.getLayer(name).params());
        }
        INDArray conv = adapted.getLayer("conv_1").params().dup();
        INDArray dense = adapted.getLayer("dense").params().dup();
        for (int i = 0; i < 5; i++) {
            adapted.fit(batch());
        }
        assertEquals(conv, adapted.getLayer("conv_1").params(), "a frozen convolution does not move");
        assertNotEquals(dense, adapted.getLayer("dense").params(), "the dense layer trains");
        assertEquals(List.of(5L, 3L), List.of(adapted.outputSingle(batch().getFeatures()).shape()[0],
                adapted.outputSingle(batch().getFeatures()).shape()[1]));
    }

    @Test
    void reinitializedKeepsTheArchitectureWithFreshWeights() {
        Checkpoint pretrained = checkpoint();
        Checkpoint fresh = TaskAdapter.reinitialized(pretrained, 77);
        assertEquals(pretrained.graph().numParams(), fresh.graph().numParams());
        assertNotEquals(pretrained.graph().getLayer("conv_0").params(), fresh.graph().getLayer("conv_0").params());
        assertEquals(fresh.graph().params(), TaskAdapter.reinitialized(pretrained, 77).graph().params(),
                "the same seed gives the same weights");
    }

    @Test
    void aCnnDoesNotFitATextFineTuneNorAnLstmAnImageOne() {
        List<String> asText = CheckpointFit.differences(checkpoint(), null, List.of(), 0, false);
        assertTrue(asText.get(0).contains("network kind is 'cnn'; a text classifier needs one of [lstm-lm]"),
                asText.toString());
        assertEquals(List.of(), CheckpointFit.differences(checkpoint(), null, List.of("pool_0"), 0, true));
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointFit.require("ck",
                checkpoint(), null, List.of("embedding"), 0, plan(List.of()).settings(), true));
        assertTrue(e.getMessage().contains("task.freeze names 'embedding'"), e.getMessage());
    }

    @Test
    void aLayerHeldAtRateZeroIsNotCountedAsTrainable() {
        Checkpoint pretrained = checkpoint();
        FinetuneSettings s = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, 0,
                List.of("conv_0=0"), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        ComputationGraph held = TaskAdapter.adapt(pretrained, new TaskAdapter.Plan("max", List.of(), s, 0.01, 10, 1, 9));
        ComputationGraph moving = TaskAdapter.adapt(pretrained, plan(List.of()));
        long conv0 = held.getLayer("conv_0").numParams();
        assertTrue(conv0 > 0);
        assertEquals(held.numParams(), moving.numParams());
        assertEquals(TaskAdapter.trainableParameters(moving) - conv0, TaskAdapter.trainableParameters(held),
                "conv_0 at a factor of 0 does not move, so it is not counted");
    }

    @Test
    void adaptersOnTheCnnStartAsTheIdentityAndTrainAloneOverTheFrozenEncoder() {
        Checkpoint pretrained = checkpoint();
        ComputationGraph adapted = TaskAdapter.adapt(pretrained, plan(List.of(), 2));
        ComputationGraph plain = TaskAdapter.adapt(pretrained, plan(List.of("dense")));
        List<String> encoder = List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense");
        assertEquals(List.of("conv_0", "conv_1", "dense"), TaskAdapter.adaptedLayers(pretrained));
        assertInstanceOf(FrozenLayer.class, adapted.getLayer("conv_0"), "nothing trainable below conv_0");
        for (String name : encoder.subList(1, encoder.size())) {
            assertInstanceOf(FrozenLayerWithBackprop.class, adapted.getLayer(name), name + " passes the gradient down");
        }

        // At the start: the pretrained encoder under the same head gives the same output, to the bit.
        plain.getLayer("head").params().assign(adapted.getLayer("head").params());
        INDArray x = batch().getFeatures();
        assertEquals(plain.outputSingle(x), adapted.outputSingle(x), "fresh adapters change nothing");

        // Per adapter 2·n·k + n + k (channels n = 2, 3; dense n = 6; k = 2), plus the 6 -> 3 head.
        long formula = BottleneckAdapter.parameters(2, 2) + BottleneckAdapter.parameters(3, 2)
                + BottleneckAdapter.parameters(6, 2) + 6 * 3 + 3;
        assertEquals(formula, TaskAdapter.trainableParameters(adapted));
        assertEquals(pretrained.graph().numParams() - 6 * 4 - 4 + formula, adapted.numParams(),
                "the encoder, the adapters and the new head");

        Map<String, INDArray> before = new java.util.HashMap<>();
        for (org.deeplearning4j.nn.api.Layer l : adapted.getLayers()) {
            if (l.numParams() > 0) {
                before.put(l.conf().getLayer().getLayerName(), l.params().dup());
            }
        }
        for (int i = 0; i < 5; i++) {
            adapted.fit(batch());
        }
        for (String name : List.of("conv_0", "conv_1", "dense")) {
            assertEquals(before.get(name), adapted.getLayer(name).params(), name + " stays as pretrained");
            assertEquals(pretrained.graph().getLayer(name).params(), adapted.getLayer(name).params());
        }
        for (String name : List.of("adapter_conv_0_down", "adapter_conv_0_up", "adapter_conv_1_down",
                "adapter_conv_1_up", "adapter_dense_down", "adapter_dense_up", "head")) {
            assertNotEquals(before.get(name), adapted.getLayer(name).params(), name + " trains");
        }
    }

    @Test
    void adapterLearningRatesAreAddressedByTheCnnsAdapterNames() {
        FinetuneSettings s = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, 2,
                List.of("adapters=0", "adapter_dense=1"), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        CheckpointFit.require("ck", checkpoint(), null, List.of(), 0, s, true);
        ComputationGraph adapted = TaskAdapter.adapt(checkpoint(), new TaskAdapter.Plan("max", List.of(), s, 0.01, 10,
                1, 9));
        INDArray conv = adapted.getLayer("adapter_conv_1_up").params().dup();
        INDArray dense = adapted.getLayer("adapter_dense_up").params().dup();
        adapted.fit(batch());
        assertEquals(conv, adapted.getLayer("adapter_conv_1_up").params(), "the adapters group at factor 0");
        assertNotEquals(dense, adapted.getLayer("adapter_dense_up").params(), "adapter_dense's own factor wins");
        FinetuneSettings unknown = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, 2,
                List.of("adapter_pool_0=1"), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointFit.require("ck",
                checkpoint(), null, List.of(), 0, unknown, true));
        assertTrue(e.getMessage().contains("'adapter_pool_0'"), e.getMessage());
    }
}

package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.net.CnnAutoencoderSpec;
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.NetworkSpec;
import dev.anneal.core.text.CharVocabulary;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Fine-tuning from a convolutional autoencoder's checkpoint: the decoder and the reconstruction head are dropped and
 * the result is the very classifier a supervised CNN with the same encoder gives.
 */
class AutoencoderTaskAdapterTest {
    private static final CnnAutoencoderSpec AUTOENCODER = new CnnAutoencoderSpec(13, 12, 1, List.of(2, 3), 3, 6);
    private static final CnnSpec CNN = new CnnSpec(13, 12, 1, List.of(2, 3), 3, 6, 4, Loss.SOFTMAX_CROSS_ENTROPY);
    private static final List<String> CLASSIFIER = List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense", "head");

    private static Checkpoint checkpoint(NetworkSpec spec, long seed) {
        ComputationGraph graph = spec.build(seed, new Adam(1e-2), DataType.FLOAT);
        Map<String, Object> network = Map.of("kind", spec.kind(), "encoderOutput", "dense", "head", "head",
                "image", Map.of("rows", 13, "cols", 12, "channels", 1));
        return new Checkpoint(graph, CharVocabulary.fromCounts(Map.of(), 0),
                new CheckpointInfo("pretrain", 1, 1, seed, network, Map.of(), Map.of()));
    }

    private static TaskAdapter.Plan plan(List<String> freeze, int adapterSize) {
        FinetuneSettings s = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, adapterSize,
                List.of(), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        return new TaskAdapter.Plan("max", freeze, s, 0.01, 10, 1, 9);
    }

    private static List<String> layers(ComputationGraph graph) {
        return Arrays.stream(graph.getLayers()).map(l -> l.conf().getLayer().getLayerName()).toList();
    }

    @Test
    void theDecoderIsDroppedAndTheClassifierIsTheOneASupervisedCnnGives() {
        Checkpoint autoencoder = checkpoint(AUTOENCODER, 3);
        assertTrue(TaskAdapter.readsImages(autoencoder));
        assertEquals(List.of(), CheckpointFit.differences(autoencoder, null, List.of("pool_1"), 0, true));
        Checkpoint cnn = checkpoint(CNN, 4);
        for (String name : AUTOENCODER.encoderLayers()) {
            if (cnn.graph().getLayer(name).numParams() > 0) {
                cnn.graph().getLayer(name).params().assign(autoencoder.graph().getLayer(name).params());
            }
        }
        for (TaskAdapter.Plan plan : List.of(plan(List.of("pool_1"), 0), plan(List.of("dense"), 0),
                plan(List.of(), 2))) {
            ComputationGraph fromAutoencoder = TaskAdapter.adapt(autoencoder, plan);
            ComputationGraph fromCnn = TaskAdapter.adapt(cnn, plan);
            assertEquals(fromCnn.getConfiguration().toJson(), fromAutoencoder.getConfiguration().toJson(),
                    "the same network, " + plan.freeze() + " adapters " + plan.settings().adapterSize());
            assertEquals(fromCnn.params(), fromAutoencoder.params(), "the same weights");
            assertEquals(TaskAdapter.trainableParameters(fromCnn),
                    TaskAdapter.trainableParameters(fromAutoencoder));
            INDArray x = Nd4j.rand(DataType.FLOAT, 3, 156);
            assertEquals(fromCnn.outputSingle(x), fromAutoencoder.outputSingle(x));
            assertTrue(layers(fromAutoencoder).stream().noneMatch(n -> n.startsWith("decoder")),
                    layers(fromAutoencoder).toString());
        }
        ComputationGraph plain = TaskAdapter.adapt(autoencoder, plan(List.of("pool_1"), 0));
        assertEquals(CLASSIFIER, layers(plain));
        // Frozen encoder: the 6 -> 3 head alone trains; adapters (k = 2) after conv_0, conv_1 and dense, and the head.
        assertEquals(6 * 3 + 3, TaskAdapter.trainableParameters(TaskAdapter.adapt(autoencoder,
                plan(List.of("dense"), 0))));
        assertEquals((2 * 2 * 2 + 2 + 2) + (2 * 3 * 2 + 3 + 2) + (2 * 6 * 2 + 6 + 2) + (6 * 3 + 3),
                TaskAdapter.trainableParameters(TaskAdapter.adapt(autoencoder, plan(List.of(), 2))));
    }

    @Test
    void fromScratchTheAutoencodersClassifierIsTheCnnsForTheSameSeed() {
        // DL4J draws the encoder's weights first in both networks, so the scratch baseline does not depend on which
        // of the two checkpoints it takes its architecture from.
        ComputationGraph a = TaskAdapter.adapt(TaskAdapter.reinitialized(checkpoint(AUTOENCODER, 3), 77),
                plan(List.of(), 0));
        ComputationGraph c = TaskAdapter.adapt(TaskAdapter.reinitialized(checkpoint(CNN, 4), 77), plan(List.of(), 0));
        assertEquals(CLASSIFIER, layers(a));
        for (String name : List.of("conv_0", "conv_1", "dense")) {
            assertEquals(c.getLayer(name).params(), a.getLayer(name).params(), name);
        }
    }

    @Test
    void aDecoderLayerIsNotPartOfTheEncoderToFreezeOrScale() {
        Checkpoint autoencoder = checkpoint(AUTOENCODER, 3);
        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointFit.require("ck",
                autoencoder, null, List.of("decoder_dense"), 0, plan(List.of()).settings(), true));
        assertTrue(e.getMessage().contains("task.freeze names 'decoder_dense', which is not an encoder layer of "
                + "the checkpoint's network; encoder layers: [conv_0, pool_0, conv_1, pool_1, dense]"),
                e.getMessage());
        FinetuneSettings scaled = new FinetuneSettings("multiclass", List.of("5", "6", "7"), "mse", 0, 0, 0,
                List.of("decoder_deconv_0=0"), 0, "constant", 1, 0.5, 0, 0, 0, 0, 1, "", 2);
        CheckpointException rates = assertThrows(CheckpointException.class, () -> CheckpointFit.require("ck",
                autoencoder, null, List.of(), 0, scaled, true));
        assertTrue(rates.getMessage().contains("task.learningRates names 'decoder_deconv_0'"), rates.getMessage());
    }

    private static TaskAdapter.Plan plan(List<String> freeze) {
        return plan(freeze, 0);
    }
}

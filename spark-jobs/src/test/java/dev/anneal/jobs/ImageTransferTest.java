package dev.anneal.jobs;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.jobs.ingest.IngestJob;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transfer on real images, end to end in local[2] Spark: the Fashion-MNIST sample of {@code data-samples/} is
 * ingested (its t10k file as the test split), a tiny CNN is pretrained on classes 0–4 through {@code anneal
 * pretrain}, then fine-tuned on classes 5–9 from 100 labelled images through {@code anneal finetune}, with the
 * convolutions frozen and a new 5-way head; {@code anneal evaluate} and {@code anneal predict} then score the
 * fine-tuned CNN ({@link ImageScoringChecks}).
 */
class ImageTransferTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    static java.nio.file.Path dir;

    private static String dataset;
    private static PretrainJob.Result interrupted;
    private static PretrainJob.Result pretrained;
    private static FinetuneJob.Result tuned;

    @BeforeAll
    static void pretrain() {
        dataset = dir.resolve("fashion").toString();
        IngestJob.run(IngestConfig.SCHEMA.load(java.nio.file.Path.of("../conf/ingest-images.yaml"),
                List.of("input=../data-samples/fashion-mnist", "output=" + dataset)), false);
        // Two invocations: the first stops after a budget of steps inside epoch 2, the second continues from it.
        interrupted = pretrainRun("training.stepsPerRun=20");
        pretrained = pretrainRun("training.stepsPerRun=0");
        tuned = finetune("tuned", "task.init=pretrained");
    }

    private static PretrainJob.Result pretrainRun(String budget) {
        return PretrainJob.run(PretrainConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + dir.resolve("pretrain"), "seed=5", "image.labels=0,1,2,3,4", "model.cnn.channels=4,8",
                "model.cnn.denseSize=32", "training.epochs=3", "training.batchSize=32",
                "training.learningRate=0.01", "training.averagingFrequency=2", "training.divergenceCheckSteps=5",
                budget)), false);
    }

    @Test
    void aStoppedImagePretrainingContinuesFromItsCheckpoint() {
        long epochSteps = (pretrained.trainWindows() + 31) / 32;
        assertTrue(interrupted.checkpoint().endsWith("step-20"), "stopped at step 20: " + interrupted.checkpoint());
        assertEquals(1, interrupted.epochs().size(), "the first invocation ended epoch 1 only");
        assertTrue(pretrained.checkpoint().endsWith("step-" + pretrained.epochs().get(1).step()),
                pretrained.checkpoint());
        assertEquals(List.of(2, 3), pretrained.epochs().stream().map(PretrainJob.Epoch::epoch).toList(),
                "the second invocation trained the rest of epoch 2, then epoch 3");
        assertTrue(pretrained.epochs().get(1).step() >= 3 * epochSteps - 3, "3 epochs of about " + epochSteps
                + " minibatches: " + pretrained.epochs());
    }

    @Test
    void pretrainedOnFiveClassesThenFineTunedOnTheOtherFiveFromFewLabels() throws Exception {
        Map<String, Object> manifest = new CheckpointStore(new Configuration())
                .manifest(new Path(pretrained.checkpoint()));
        Map<?, ?> network = (Map<?, ?>) manifest.get("network");
        assertEquals("cnn", network.get("kind"));
        assertEquals(List.of("0", "1", "2", "3", "4"), network.get("labels"));
        // Only classes 0-4 of the sample's training file, less the validation share (the test file is not trained on).
        assertTrue(pretrained.trainWindows() > 400 && pretrained.trainWindows() < 586,
                "training images of classes 0-4: " + pretrained.trainWindows());

        Map<?, ?> test = (Map<?, ?>) tuned.metrics().get("test");
        Map<?, ?> baseline = (Map<?, ?>) tuned.metrics().get("baseline");
        Map<?, ?> records = (Map<?, ?>) tuned.metrics().get("records");
        assertEquals(100L, ((Number) records.get("train")).longValue(), "split.trainExamples=100");
        assertEquals(181L, ((Number) records.get("test")).longValue(), "classes 5-9 of the 400 test images");
        double accuracy = ((Number) test.get("accuracy")).doubleValue();
        double majority = ((Number) baseline.get("accuracy")).doubleValue();
        // Measured 0.61 and 0.49 with 6 epochs, 0.52 with 8, against 0.22; guessing among five classes makes 0.20.
        assertTrue(accuracy > majority + 0.15, "test accuracy " + accuracy + " vs majority class " + majority);

        CheckpointStore store = new CheckpointStore(new Configuration());
        Checkpoint before = store.read(new Path(pretrained.checkpoint()), false);
        Checkpoint after = store.read(new Path(tuned.model()), false);
        ComputationGraph a = before.graph();
        ComputationGraph b = after.graph();
        for (String frozen : List.of("conv_0", "conv_1")) {
            assertEquals(a.getLayer(frozen).params(), b.getLayer(frozen).params(), frozen + " is as pretrained");
        }
        assertNotEquals(a.getLayer("dense").params(), b.getLayer("dense").params(), "dense was fine-tuned");
        assertEquals(5, b.getLayer("head").getParam("W").columns(), "a new 5-way head");
        assertEquals("image-classifier", after.info().networkKind());
    }

    @Test
    void evaluateAndPredictScoreTheFineTunedCnnOnTheDatasetAndOnAParquetTable() throws Exception {
        ImageScoringChecks.run(SPARK.session(), dir, dataset, tuned);
    }

    @Test
    void adaptersOnTheFrozenCnnTrainAFractionAndTheSavedModelScores() throws Exception {
        FinetuneJob.Result a = finetune("adapters", "task.adapterSize=4", "training.epochs=3");
        Map<?, ?> parameters = (Map<?, ?>) a.metrics().get("parameters");
        Map<?, ?> full = (Map<?, ?>) tuned.metrics().get("parameters");
        // 2·n·k + n + k per adapter: after conv_0 (4 channels), conv_1 (8) and dense (32), k = 4; the 32 -> 5 head.
        long adapters = (2 * 4 * 4 + 4 + 4) + (2 * 8 * 4 + 8 + 4) + (2 * 32 * 4 + 32 + 4);
        assertEquals(adapters + 32 * 5 + 5, ((Number) parameters.get("trainable")).longValue());
        assertEquals(((Number) full.get("total")).longValue() + adapters,
                ((Number) parameters.get("total")).longValue(), "the fine-tuned CNN plus the adapters");
        assertEquals(4 * ((Number) parameters.get("trainable")).longValue(),
                ((Number) parameters.get("trainableFloat32Bytes")).longValue());
        // model.zip holds every parameter but Adam's state (two numbers per parameter) only for those that train:
        // measured 34,420 bytes against the full fine-tune's 51,601.
        assertTrue(((Number) parameters.get("savedModelBytes")).longValue()
                < ((Number) full.get("savedModelBytes")).longValue(), parameters + " vs " + full);

        // Saved and loaded through the checkpoint format: the encoder exactly as pretrained, the adapters trained.
        CheckpointStore store = new CheckpointStore(new Configuration());
        ComputationGraph before = store.read(new Path(pretrained.checkpoint()), false).graph();
        Checkpoint after = store.read(new Path(a.model()), false);
        for (String layer : List.of("conv_0", "conv_1", "dense")) {
            assertEquals(before.getLayer(layer).params(), after.graph().getLayer(layer).params(), layer);
            assertTrue(after.graph().getLayer("adapter_" + layer + "_up").params().amaxNumber().doubleValue() > 0,
                    "adapter_" + layer + " moved off the identity");
        }
        assertEquals(4, ((Number) after.info().network().get("adapterSize")).intValue());

        // evaluate and predict read the adapted CNN: evaluate's figures are the fine-tune's test figures.
        Map<?, ?> test = (Map<?, ?>) a.metrics().get("test");
        EvaluateJob.Result e = EvaluateJob.run(dev.anneal.core.config.EvaluateConfig.SCHEMA.load(null, List.of(
                "input=" + dataset, "output=" + dir.resolve("adapters-eval"), "checkpoint=" + a.model())), false);
        assertEquals(((Number) ((Map<?, ?>) a.metrics().get("records")).get("test")).longValue(), e.scored());
        Map<?, ?> evaluated = (Map<?, ?>) e.metrics().get("metrics");
        assertEquals(((Number) test.get("accuracy")).doubleValue(),
                ((Number) evaluated.get("accuracy")).doubleValue(), 1e-12);
        PredictJob.Result p = PredictJob.run(dev.anneal.core.config.PredictConfig.SCHEMA.load(null, List.of(
                "input=" + dataset, "output=" + dir.resolve("adapters-predict"), "checkpoint=" + a.model())), false);
        assertEquals(400, p.scored(), "the whole test split");
        double majority = ((Number) ((Map<?, ?>) a.metrics().get("baseline")).get("accuracy")).doubleValue();
        assertTrue(((Number) test.get("accuracy")).doubleValue() > majority, test + " vs majority " + majority);
    }

    @Test
    void aLabelTheDatasetLacksOrATextCheckpointIsRefusedBeforeTraining() {
        ConfigException labels = assertThrows(ConfigException.class, () -> finetune("bad-labels",
                "task.labels=5,6,tiger"));
        assertTrue(labels.getMessage().contains("task.labels names label 'tiger'"), labels.getMessage());
        assertEquals(2, labels.exitCode());
        ConfigException binary = assertThrows(ConfigException.class, () -> finetune("binary", "task.type=binary",
                "task.labels="));
        assertTrue(binary.getMessage().contains("task.type=multiclass"), binary.getMessage());
        CheckpointException freeze = assertThrows(CheckpointException.class, () -> finetune("freeze",
                "task.freeze=embedding"));
        assertTrue(freeze.getMessage().contains("'embedding', which is not an encoder layer"), freeze.getMessage());
    }

    private static FinetuneJob.Result finetune(String name, String... sets) {
        List<String> all = new ArrayList<>(List.of("input=" + dataset, "output=" + dir.resolve(name),
                "checkpoint=" + dir.resolve("pretrain"), "seed=5", "task.type=multiclass", "task.labels=5,6,7,8,9",
                "task.freeze=pool_1", "split.trainExamples=100", "training.epochs=8", "training.batchSize=16",
                "training.learningRate=0.01", "training.averagingFrequency=2"));
        all.addAll(List.of(sets));
        return FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, all), false, false);
    }
}

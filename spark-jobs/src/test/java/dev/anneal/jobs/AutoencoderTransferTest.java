package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.jobs.ingest.IngestJob;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unsupervised image pretraining, end to end in local[2] Spark: a tiny convolutional autoencoder is pretrained
 * through {@code anneal pretrain} on every training image of the Fashion-MNIST sample of {@code data-samples/}
 * (labels unused), in two invocations, the second resuming mid-epoch; then fine-tuned on classes 5–9 from 100
 * labelled images, with its encoder frozen and with adapters, through {@code anneal finetune}; the fine-tuned
 * models are ordinary CNN classifiers that {@code anneal evaluate} and {@code anneal predict} read.
 */
class AutoencoderTransferTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    static java.nio.file.Path dir;

    private static String dataset;
    private static PretrainJob.Result interrupted;
    private static PretrainJob.Result pretrained;
    private static FinetuneJob.Result frozen;

    @BeforeAll
    static void pretrain() {
        dataset = dir.resolve("fashion").toString();
        IngestJob.run(IngestConfig.SCHEMA.load(java.nio.file.Path.of("../conf/ingest-images.yaml"),
                List.of("input=../data-samples/fashion-mnist", "output=" + dataset)), false);
        interrupted = pretrainRun("training.stepsPerRun=20");
        pretrained = pretrainRun("training.stepsPerRun=0");
        frozen = finetune("frozen", "task.freeze=pool_1");
    }

    private static PretrainJob.Result pretrainRun(String budget) {
        return PretrainJob.run(PretrainConfig.SCHEMA.load(java.nio.file.Path.of(
                "../conf/pretrain-images-autoencoder.yaml"), List.of("input=" + dataset,
                "output=" + dir.resolve("autoencoder"), "seed=5", "model.cnn.channels=4,8", "model.cnn.denseSize=32",
                "training.epochs=2", "training.batchSize=32", "training.learningRate=0.01",
                "training.averagingFrequency=2", "training.divergenceCheckSteps=5", budget)), false);
    }

    @Test
    void theAutoencoderSeesEveryTrainingImageAndReconstructsBetterThanBeforeTraining() throws Exception {
        Map<String, Object> manifest = new CheckpointStore(new Configuration())
                .manifest(new Path(pretrained.checkpoint()));
        Map<?, ?> network = (Map<?, ?>) manifest.get("network");
        assertEquals("cnn-autoencoder", network.get("kind"));
        assertEquals("reconstruct", network.get("objective"));
        assertEquals(List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense"), network.get("encoderLayers"));
        assertEquals(List.of("decoder_dense", "decoder_up_1", "decoder_pad_1", "decoder_deconv_1", "decoder_up_0",
                "decoder_deconv_0"), network.get("decoderLayers"));
        // Every label's training images, less the validation share: the sample's training file has 1,200.
        assertTrue(pretrained.trainWindows() > 1000 && pretrained.trainWindows() < 1200,
                "training images of all ten classes: " + pretrained.trainWindows());

        // An epoch is 34 minibatches of 32: the first invocation stopped inside epoch 1.
        assertTrue(interrupted.checkpoint().endsWith("step-20"), interrupted.checkpoint());
        assertEquals(List.of(), interrupted.epochs());
        assertEquals(List.of(1, 2), pretrained.epochs().stream().map(PretrainJob.Epoch::epoch).toList(),
                "the second invocation trained the rest of epoch 1, then epoch 2");
        long epochSteps = (pretrained.trainWindows() + 31) / 32;
        assertTrue(pretrained.checkpoint().endsWith("step-" + pretrained.epochs().get(1).step()));
        assertTrue(pretrained.epochs().get(1).step() >= 2 * epochSteps - 2, pretrained.epochs().toString());

        // metrics.jsonl: the first invocation's start holds the validation figures before any training, each epoch
        // its own; metrics.json the last epoch's and the test split's.
        List<JsonNode> events = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("autoencoder").resolve("metrics.jsonl"))) {
            events.add(new ObjectMapper().readTree(line));
        }
        List<JsonNode> starts = events.stream().filter(e -> e.path("event").asText().equals("start")).toList();
        assertEquals(2, starts.size(), "two invocations");
        JsonNode initial = starts.get(0).path("data").path("initialValidation");
        assertEquals("reconstruct", starts.get(0).path("data").path("objective").asText());
        assertTrue(starts.get(1).path("data").path("initialValidation").isMissingNode(), "not for a resumed run");
        double before = initial.path("loss").asDouble();
        double beforeMse = initial.path("mse").asDouble();
        JsonNode last = new ObjectMapper().readTree(dir.resolve("autoencoder").resolve("metrics.json").toFile());
        JsonNode after = last.path("epochs").get(1).path("validation");
        assertEquals("reconstruct", last.path("objective").asText());
        assertEquals(initial.path("count").asLong(), after.path("count").asLong());
        assertTrue(after.path("count").asLong() > 50, after.toString());
        // Measured on the validation images before the first step and after epoch 2.
        assertTrue(after.path("loss").asDouble() < before, "cross-entropy per pixel " + before + " -> " + after);
        assertTrue(after.path("mse").asDouble() < beforeMse, "squared error per pixel " + beforeMse + " -> " + after);
        JsonNode test = last.path("test");
        assertEquals(400, test.path("count").asLong(), "the sample's 400 test images, every label");
        assertTrue(test.path("meanImage").path("mse").asDouble() > 0, test.toString());
        assertEquals(2, events.stream().filter(e -> e.path("event").asText().equals("epoch")
                && e.path("validationMse").isNumber()).count(), "epochs 1 and 2");
    }
    @Test
    void fineTunedFromTheFrozenAutoencoderEncoderIsAnOrdinaryCnnClassifier() {
        CheckpointStore store = new CheckpointStore(new Configuration());
        ComputationGraph autoencoder = store.read(new Path(pretrained.checkpoint()), false).graph();
        Checkpoint after = store.read(new Path(frozen.model()), false);
        assertEquals("image-classifier", after.info().networkKind());
        assertEquals("cnn-autoencoder", after.info().network().get("pretrainedKind"));
        assertFalse(after.info().network().containsKey("decoderLayers"), after.info().network().toString());
        assertEquals(List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense", "head"),
                Arrays.stream(after.graph().getLayers()).map(l -> l.conf().getLayer().getLayerName()).toList());
        for (String layer : List.of("conv_0", "conv_1")) {
            assertEquals(autoencoder.getLayer(layer).params(), after.graph().getLayer(layer).params(), layer);
        }
        // dense (5x5 maps of 8 channels -> 32) and the 32 -> 5 head train; the convolutions stay frozen.
        Map<?, ?> parameters = (Map<?, ?>) frozen.metrics().get("parameters");
        long convolutions = (3 * 3 * 4 + 4) + (3 * 3 * 4 * 8 + 8);
        long trainable = (5 * 5 * 8 * 32 + 32) + (32 * 5 + 5);
        assertEquals(trainable, ((Number) parameters.get("trainable")).longValue());
        assertEquals(convolutions + trainable, ((Number) parameters.get("total")).longValue());

        Map<?, ?> test = (Map<?, ?>) frozen.metrics().get("test");
        double majority = ((Number) ((Map<?, ?>) frozen.metrics().get("baseline")).get("accuracy")).doubleValue();
        assertTrue(((Number) test.get("accuracy")).doubleValue() > majority, test + " vs majority " + majority);
        EvaluateJob.Result e = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + dir.resolve("frozen-eval"), "checkpoint=" + frozen.model())), false);
        assertEquals(((Number) test.get("accuracy")).doubleValue(),
                ((Number) ((Map<?, ?>) e.metrics().get("metrics")).get("accuracy")).doubleValue(), 1e-12);
    }

    @Test
    void adaptersOnTheAutoencodersEncoderTrainAloneAndTheModelScores() {
        FinetuneJob.Result a = finetune("adapters", "task.adapterSize=4", "training.epochs=3");
        Map<?, ?> parameters = (Map<?, ?>) a.metrics().get("parameters");
        // 2·n·k + n + k per adapter: after conv_0 (4 channels), conv_1 (8) and dense (32), k = 4; the 32 -> 5 head.
        long adapters = (2 * 4 * 4 + 4 + 4) + (2 * 8 * 4 + 8 + 4) + (2 * 32 * 4 + 32 + 4);
        assertEquals(adapters + 32 * 5 + 5, ((Number) parameters.get("trainable")).longValue());
        assertEquals(((Number) ((Map<?, ?>) frozen.metrics().get("parameters")).get("total")).longValue()
                + adapters, ((Number) parameters.get("total")).longValue());

        CheckpointStore store = new CheckpointStore(new Configuration());
        ComputationGraph autoencoder = store.read(new Path(pretrained.checkpoint()), false).graph();
        Checkpoint after = store.read(new Path(a.model()), false);
        for (String layer : List.of("conv_0", "conv_1", "dense")) {
            assertEquals(autoencoder.getLayer(layer).params(), after.graph().getLayer(layer).params(), layer);
            assertTrue(after.graph().getLayer("adapter_" + layer + "_up").params().amaxNumber().doubleValue() > 0,
                    "adapter_" + layer + " moved off the identity");
        }
        Map<?, ?> test = (Map<?, ?>) a.metrics().get("test");
        EvaluateJob.Result e = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + dir.resolve("adapters-eval"), "checkpoint=" + a.model())), false);
        assertEquals(((Number) test.get("accuracy")).doubleValue(),
                ((Number) ((Map<?, ?>) e.metrics().get("metrics")).get("accuracy")).doubleValue(), 1e-12);
        PredictJob.Result p = PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + dir.resolve("adapters-predict"), "checkpoint=" + a.model())), false);
        assertEquals(400, p.scored(), "the whole test split");
    }

    @Test
    void theObjectiveIsCheckedBeforeTraining() {
        ConfigException text = assertThrows(ConfigException.class, () -> PretrainJob.run(PretrainConfig.SCHEMA.load(
                null, List.of("input=../data-samples/text", "output=" + dir.resolve("text"),
                        "model.cnn.objective=reconstruct")), false));
        assertEquals(2, text.exitCode());
        assertTrue(text.getMessage().startsWith("model.cnn.objective=reconstruct trains a convolutional autoencoder "
                + "on an image dataset, but input ../data-samples/text is a text corpus"), text.getMessage());
        assertFalse(Files.exists(dir.resolve("text")), "refused before anything was written");

        ConfigException unknown = assertThrows(ConfigException.class, () -> PretrainConfig.SCHEMA.load(null,
                List.of("input=" + dataset, "output=" + dir.resolve("x"), "model.cnn.objective=denoise")));
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.getMessage().contains("model.cnn.objective"), unknown.getMessage());

        // The autoencoder's run directory does not continue as a supervised CNN.
        CheckpointException resume = assertThrows(CheckpointException.class, () -> PretrainJob.run(
                PretrainConfig.SCHEMA.load(null, List.of("input=" + dataset, "output=" + dir.resolve("autoencoder"),
                        "model.cnn.channels=4,8", "model.cnn.denseSize=32", "training.epochs=3")), false));
        assertTrue(resume.getMessage().contains("its checkpoint is a cnn-autoencoder network, this run asks for a "
                + "cnn (model.cnn.objective=classify)"), resume.getMessage());
    }

    private static FinetuneJob.Result finetune(String name, String... sets) {
        List<String> all = new ArrayList<>(List.of("input=" + dataset, "output=" + dir.resolve(name),
                "checkpoint=" + dir.resolve("autoencoder"), "seed=5", "task.type=multiclass",
                "task.labels=5,6,7,8,9", "split.trainExamples=100", "training.epochs=8", "training.batchSize=16",
                "training.learningRate=0.01", "training.averagingFrequency=2"));
        all.addAll(List.of(sets));
        return FinetuneJob.run(FinetuneConfig.SCHEMA.load(java.nio.file.Path.of("../conf/finetune-images.yaml"),
                all), false, false);
    }
}

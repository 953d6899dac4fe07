package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.config.ImageModelSettings;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.net.CnnAutoencoderSpec;
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.NetworkSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.RecordFeatures;
import dev.anneal.jobs.data.TaskRecord;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import dev.anneal.jobs.eval.ReconstructionLoss;
import dev.anneal.jobs.eval.TaskEvaluation;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The image branch of {@code anneal pretrain}: a CNN ({@link CnnSpec}) trained supervised on an image dataset's
 * train split, on every label or on the subset {@code image.labels} names, or with {@code
 * model.cnn.objective=reconstruct} a convolutional autoencoder ({@link CnnAutoencoderSpec}, the same encoder) trained
 * to reconstruct the images without reading their labels; both through the same {@link TrainingLoop} as the
 * language model (checkpoint cadence, step budget, resume mid-epoch). Validation figures are measured after every
 * epoch (accuracy and loss; for the autoencoder the reconstruction's cross-entropy and squared error per pixel,
 * also before the first epoch of a new run), and the test split's at the end.
 *
 * <p>A checkpoint's manifest records the network's kind, its {@code image} shape and the {@code labels} whose
 * images it was trained on; it carries the empty character vocabulary (padding and unknown only), since the
 * network reads no text.
 */
final class ImagePretrain {
    private static final Logger LOG = LoggerFactory.getLogger(ImagePretrain.class);

    private ImagePretrain() {
    }

    /** A run continues only as the network its checkpoint holds: a CNN or an autoencoder (exit 3 otherwise). */
    static void requireResumableKind(PretrainConfig config, Checkpoint resumeFrom) {
        String kind = config.image().reconstructs() ? CnnAutoencoderSpec.KIND : "cnn";
        if (resumeFrom != null && !kind.equals(resumeFrom.info().networkKind())) {
            throw new CheckpointException(config.output() + ": its checkpoint is a " + resumeFrom.info().networkKind()
                    + " network, this run asks for a " + kind + " (model.cnn.objective="
                    + config.image().objective() + ")");
        }
    }

    static PretrainJob.Result train(PretrainConfig config, JavaSparkContext sc, Checkpoint resumeFrom) {
        requireResumableKind(config, resumeFrom);
        long started = System.nanoTime();
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        CheckpointStore store = new CheckpointStore(sc.hadoopConfiguration());
        ImageModelSettings settings = config.image();
        ImageRecords source = ImageRecords.open(spark, config.input());
        DatasetManifest manifest = source.manifest();
        List<String> labels = settings.labels().isEmpty() ? manifest.labels() : settings.labels();
        int workers = config.training().workers() > 0 ? config.training().workers() : sc.defaultParallelism();
        int batch = config.training().batchSize();
        boolean reconstruct = settings.reconstructs();
        RecordFeatures features = reconstruct ? RecordFeatures.reconstruction(source.pixels())
                : RecordFeatures.images(source.pixels());
        JavaRDD<Tuple2<String, TaskRecord>> records = source.records(labels, "image.labels")
                .persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<TaskRecord> validation = split(records, "validation");
        JavaRDD<TaskRecord> test = split(records, "test");
        JavaRDD<DataSet> train = split(records, "train")
                .mapPartitions(it -> new BatchIterator<>(it, batch, features::batch));
        EpochPlan plan = new EpochPlan(train, workers, config.seed());
        long trainBatches = plan.size();
        long trainImages = plan.examples();
        if (trainImages == 0) {
            throw new InputException(config.input() + ": no training images with labels " + labels);
        }
        long validationImages = validation.count();

        NetworkSpec spec = reconstruct
                ? new CnnAutoencoderSpec(manifest.image().rows(), manifest.image().cols(), 1, settings.channels(),
                        settings.kernelSize(), settings.denseSize(), settings.dropout())
                : new CnnSpec(manifest.image().rows(), manifest.image().cols(), 1, settings.channels(),
                        settings.kernelSize(), settings.denseSize(), labels.size(), Loss.SOFTMAX_CROSS_ENTROPY,
                        settings.dropout());
        if (resumeFrom != null && !labels.equals(resumeFrom.info().network().get("labels"))) {
            throw new CheckpointException(config.output() + ": its checkpoint was trained on labels "
                    + resumeFrom.info().network().get("labels") + " (a " + resumeFrom.info().networkKind()
                    + " network), this run asks for image.labels " + labels);
        }
        ComputationGraph graph = resumeFrom != null
                ? PretrainJob.scheduled(resumeFrom.graph(), config, trainBatches, workers, false)
                : spec.build(config.seed(), PretrainJob.updater(config, trainBatches, workers), DataType.FLOAT);
        CharVocabulary noText = CharVocabulary.fromCounts(Map.of(), 0);
        Map<String, Object> data = CorpusIdentity.of(config.input(), sc.hadoopConfiguration());
        TrainingLoop.Cursor start = resumeFrom == null ? new TrainingLoop.Cursor(1, 0, 0)
                : PretrainJob.cursor(resumeFrom.info(), trainBatches, data);
        LOG.info("pretrain (images): {} -> {}; {} {} {}; {} training images ({} minibatches of {}), {} validation; "
                        + "{} channels {}, kernel {}, dense {}, dropout {}, {} parameters; engine {}, {} workers; "
                        + "epoch {} from minibatch {} to epoch {}", config.input(), config.output(),
                reconstruct ? "reconstructing the images of labels" : "labels", labels,
                reconstruct ? "(their labels are not used)" : "(supervised)", trainImages, trainBatches, batch,
                validationImages, spec.kind(), settings.channels(), settings.kernelSize(), settings.denseSize(),
                settings.dropout(), graph.numParams(), config.training().engine(), workers, start.epoch(),
                start.position(), config.training().epochs());
        Measure measure = reconstruct
                ? (net, rdd) -> ReconstructionLoss.of(sc, net, rdd, features, batch).toMap()
                : (net, rdd) -> TaskEvaluation.evaluate(sc, net, rdd, features, batch, FinetuneSettings.MULTICLASS,
                        labels.size());
        // Where a new autoencoder starts: what its first epochs are read against.
        Map<String, Object> initial = reconstruct && resumeFrom == null && validationImages > 0
                ? measure.of(graph, validation) : null;
        if (initial != null) {
            LOG.info("before training: validation reconstruction loss {} nats per pixel, squared error {} per pixel",
                    initial.get("loss"), initial.get("mse"));
        }

        List<PretrainJob.Epoch> epochs = new ArrayList<>();
        List<Map<String, Object>> validations = new ArrayList<>();
        String[] written = {resumeFrom == null ? null : store.resolve(new Path(config.output())).toString()};
        ComputationGraph[] last = {graph};
        try (RunLog runLog = RunLog.open(config.output(), "pretrain", sc.hadoopConfiguration(),
                config.training().progressSeconds());
             TrainingEngine engine = TrainingEngines.create(sc, graph, config.training(), config.seed())) {
            Map<String, Object> reads = RunLog.figures("input", config.input(), "trainImages", trainImages,
                    "validationImages", validationImages, "minibatches", trainBatches, "labels", labels,
                    "objective", settings.objective());
            if (initial != null) {
                reads.put("initialValidation", initial);
            }
            runLog.start(Reports.asMap(config), reads, start.epoch(), config.training().epochs());
            if (reconstruct) {
                // DL4J 1.0.0-M2.1 reports a training score that is not the loss for a parameter-free sigmoid loss
                // layer: on the same minibatch and weights, the score computeGradientAndScore returns (and fit
                // leaves) differs from score(dataSet, true), measured 0.787 against 0.694 nats per pixel, while the
                // gradient is right (GradientCheckTest). So no training loss is shown: validation measures it.
                runLog.scaleTrainLoss(Double.NaN);
            }
            runLog.watch(engine, start.epoch(), start.position(), trainBatches);
            TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
                @Override
                public Map<String, Object> epochEnd(int epoch, ComputationGraph trained, TrainingLoop.Passes passes) {
                    Map<String, Object> v = validationImages == 0 ? Map.of() : measure.of(trained, validation);
                    double loss = v.get("loss") instanceof Number n ? n.doubleValue() : Double.NaN;
                    DivergenceGuard.check(trained, validationImages == 0 ? 0 : loss, "in epoch " + epoch);
                    double rate = trainImages * (passes.minibatches() / (double) trainBatches) / passes.seconds();
                    String second = reconstruct ? "validationMse" : "validationAccuracy";
                    Object secondValue = v.get(reconstruct ? "mse" : "accuracy");
                    runLog.epochEnded(epoch, RunLog.figures("step", (long) epoch * trainBatches, "validationLoss",
                            loss, second, secondValue));
                    LOG.info("epoch {}: validation {} {}, loss {}{}; {} images/s", epoch,
                            reconstruct ? "squared error per pixel" : "accuracy", secondValue, loss,
                            reconstruct ? " nats per pixel" : "", String.format("%.0f", rate));
                    epochs.add(new PretrainJob.Epoch(epoch, (long) epoch * trainBatches, loss, passes.seconds(),
                            rate, Reports.enginePass(engine, passes.traffic(), passes.bindings(),
                                    passes.minibatches(), LOG)));
                    validations.add(v);
                    Map<String, Object> metrics = new LinkedHashMap<>();
                    metrics.put("validationLoss", loss);
                    metrics.put(second, secondValue);
                    metrics.put("trainImages", trainImages);
                    metrics.put("samplesPerSecond", rate);
                    return metrics;
                }

                @Override
                public String checkpoint(ComputationGraph trained, TrainingLoop.Cursor cursor,
                                         Map<String, Object> metrics) {
                    CheckpointInfo info = new CheckpointInfo("pretrain", cursor.step(), cursor.epochsDone(),
                            config.seed(), networkInfo(spec, labels), Reports.asMap(config), metrics,
                            cursor.toMap(trainBatches, data));
                    written[0] = store.writeStep(new Path(config.output()),
                            new Checkpoint(trained, noText, info)).toString();
                    runLog.checkpoint(written[0], cursor.step(), cursor.epochsDone());
                    store.prune(new Path(config.output()), config.retention());
                    last[0] = trained;
                    writeMetrics(config, sc, trainImages, validationImages, epochs, validations, extra(initial, null),
                            written[0]);
                    return written[0];
                }
            };
            TrainingLoop.Cursor end = new TrainingLoop(sc, engine, plan, config.cadence(), config.training().epochs())
                    .run(start, hooks);
            Map<String, Object> summary = new LinkedHashMap<>();
            if (end.epoch() > config.training().epochs() && written[0] != null && test.count() > 0) {
                Map<String, Object> t = new LinkedHashMap<>(measure.of(last[0], test));
                if (reconstruct) {
                    Map<String, Object> mean = ReconstructionLoss.constant(test, features,
                            ReconstructionLoss.meanImage(split(records, "train"), features, batch), batch).toMap();
                    mean.remove("count");
                    t.put("meanImage", mean);
                    LOG.info("test: reconstruction loss {} nats per pixel, squared error {} per pixel on {} images; "
                                    + "the mean training image scores {} and {}", t.get("loss"), t.get("mse"),
                            t.get("count"), mean.get("loss"), mean.get("mse"));
                } else {
                    LOG.info("test: accuracy {}, loss {} on {} images", t.get("accuracy"), t.get("loss"),
                            t.get("count"));
                }
                writeMetrics(config, sc, trainImages, validationImages, epochs, validations, extra(initial, t),
                        written[0]);
                summary.put("test", t);
            }
            summary.put("checkpoint", String.valueOf(written[0]));
            runLog.finish(summary);
        } finally {
            records.unpersist();
        }
        return new PretrainJob.Result(written[0], noText, trainImages, validationImages, epochs,
                (System.nanoTime() - started) / 1e9, "image");
    }

    private static JavaRDD<TaskRecord> split(JavaRDD<Tuple2<String, TaskRecord>> records, String split) {
        return records.filter(r -> r._1().equals(split)).map(Tuple2::_2);
    }

    /** Validation or test figures of a network on a split. */
    @FunctionalInterface
    private interface Measure {
        Map<String, Object> of(ComputationGraph network, JavaRDD<TaskRecord> records);
    }

    private static Map<String, Object> extra(Map<String, Object> initial, Map<String, Object> test) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (initial != null) {
            m.put("initialValidation", initial);
        }
        if (test != null) {
            m.put("test", test);
        }
        return m;
    }

    /**
     * What a fine-tune needs to know of the network: its kind and parts, the images it reads and the labels it
     * learnt (for the autoencoder: whose images it saw).
     */
    static Map<String, Object> networkInfo(NetworkSpec spec, List<String> labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", spec.kind());
        m.put("encoderLayers", spec.encoderLayers());
        m.put("encoderOutput", spec.encoderOutput());
        m.put("head", spec.headLayer());
        if (spec instanceof CnnSpec c) {
            m.put("image", Map.of("rows", c.height(), "cols", c.width(), "channels", c.channels()));
            m.put("labels", labels);
            m.put("convChannels", c.convChannels());
            m.put("kernelSize", c.kernelSize());
            m.put("denseSize", c.denseSize());
            m.put("dropout", c.dropout());
        } else if (spec instanceof CnnAutoencoderSpec a) {
            m.put("image", Map.of("rows", a.height(), "cols", a.width(), "channels", a.channels()));
            m.put("labels", labels);
            m.put("objective", ImageModelSettings.RECONSTRUCT);
            m.put("decoderLayers", a.decoderLayers());
            m.put("convChannels", a.convChannels());
            m.put("kernelSize", a.kernelSize());
            m.put("denseSize", a.denseSize());
            m.put("dropout", a.dropout());
        }
        return m;
    }

    private static void writeMetrics(PretrainConfig config, JavaSparkContext sc, long trainImages,
                                     long validationImages, List<PretrainJob.Epoch> epochs,
                                     List<Map<String, Object>> validations, Map<String, Object> extra,
                                     String checkpoint) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", "pretrain");
        m.put("input", "images");
        m.put("engine", config.training().engine());
        m.put("master", sc.master());
        m.put("trainImages", trainImages);
        m.put("validationImages", validationImages);
        m.put("checkpoint", checkpoint);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < epochs.size(); i++) {
            Map<String, Object> row = new LinkedHashMap<>(epochs.get(i).toMap());
            row.put("validation", validations.get(i));
            rows.add(row);
        }
        m.put("objective", config.image().objective());
        m.put("epochs", rows);
        m.putAll(extra);
        RunDirectory.writeString(new Path(config.output(), PretrainJob.METRICS), Reports.toJson(m),
                sc.hadoopConfiguration());
    }
}

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
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.Loss;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.RecordFeatures;
import dev.anneal.jobs.data.TaskRecord;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
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
 * train split, on every label or on the subset {@code image.labels} names, through the same {@link TrainingLoop}
 * as the language model (checkpoint cadence, step budget, resume mid-epoch). Validation accuracy and loss are
 * measured after every epoch, and the test split's at the end.
 *
 * <p>A checkpoint's manifest records the network's {@code image} shape and the {@code labels} it was trained on;
 * it carries the empty character vocabulary (padding and unknown only), since the network reads no text.
 */
final class ImagePretrain {
    private static final Logger LOG = LoggerFactory.getLogger(ImagePretrain.class);

    private ImagePretrain() {
    }

    static PretrainJob.Result train(PretrainConfig config, JavaSparkContext sc, Checkpoint resumeFrom) {
        long started = System.nanoTime();
        SparkSession spark = SparkSession.builder().sparkContext(sc.sc()).getOrCreate();
        CheckpointStore store = new CheckpointStore(sc.hadoopConfiguration());
        ImageModelSettings settings = config.image();
        ImageRecords source = ImageRecords.open(spark, config.input());
        DatasetManifest manifest = source.manifest();
        List<String> labels = settings.labels().isEmpty() ? manifest.labels() : settings.labels();
        int workers = config.training().workers() > 0 ? config.training().workers() : sc.defaultParallelism();
        int batch = config.training().batchSize();
        RecordFeatures features = RecordFeatures.images(source.pixels());
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

        CnnSpec spec = new CnnSpec(manifest.image().rows(), manifest.image().cols(), 1, settings.channels(),
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
        LOG.info("pretrain (images): {} -> {}; labels {}; {} training images ({} minibatches of {}), {} validation; "
                        + "CNN channels {}, kernel {}, dense {}, dropout {}, {} parameters; engine {}, {} workers; "
                        + "epoch {} from minibatch {} to epoch {}", config.input(), config.output(), labels,
                trainImages, trainBatches, batch, validationImages, settings.channels(), settings.kernelSize(),
                settings.denseSize(), settings.dropout(), graph.numParams(), config.training().engine(), workers,
                start.epoch(), start.position(), config.training().epochs());

        List<PretrainJob.Epoch> epochs = new ArrayList<>();
        List<Map<String, Object>> validations = new ArrayList<>();
        String[] written = {resumeFrom == null ? null : store.resolve(new Path(config.output())).toString()};
        ComputationGraph[] last = {graph};
        try (RunLog runLog = RunLog.open(config.output(), "pretrain", sc.hadoopConfiguration(),
                config.training().progressSeconds());
             TrainingEngine engine = TrainingEngines.create(sc, graph, config.training(), config.seed())) {
            runLog.start(Reports.asMap(config), RunLog.figures("input", config.input(), "trainImages", trainImages,
                    "validationImages", validationImages, "minibatches", trainBatches, "labels", labels),
                    start.epoch(), config.training().epochs());
            runLog.watch(engine, start.epoch(), start.position(), trainBatches);
            TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
                @Override
                public Map<String, Object> epochEnd(int epoch, ComputationGraph trained, TrainingLoop.Passes passes) {
                    Map<String, Object> v = validationImages == 0 ? Map.of() : TaskEvaluation.evaluate(sc, trained,
                            validation, features, batch, FinetuneSettings.MULTICLASS, labels.size());
                    double loss = v.get("loss") instanceof Number n ? n.doubleValue() : Double.NaN;
                    DivergenceGuard.check(trained, validationImages == 0 ? 0 : loss, "in epoch " + epoch);
                    double rate = trainImages * (passes.minibatches() / (double) trainBatches) / passes.seconds();
                    runLog.epochEnded(epoch, RunLog.figures("step", (long) epoch * trainBatches, "validationLoss",
                            loss, "validationAccuracy", v.get("accuracy")));
                    LOG.info("epoch {}: validation accuracy {}, loss {}; {} images/s", epoch, v.get("accuracy"),
                            loss, String.format("%.0f", rate));
                    epochs.add(new PretrainJob.Epoch(epoch, (long) epoch * trainBatches, loss, passes.seconds(),
                            rate, Reports.enginePass(engine, passes.traffic(), passes.bindings(),
                                    passes.minibatches(), LOG)));
                    validations.add(v);
                    Map<String, Object> metrics = new LinkedHashMap<>();
                    metrics.put("validationLoss", loss);
                    metrics.put("validationAccuracy", v.get("accuracy"));
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
                    writeMetrics(config, sc, trainImages, validationImages, epochs, validations, null, written[0]);
                    return written[0];
                }
            };
            TrainingLoop.Cursor end = new TrainingLoop(sc, engine, plan, config.cadence(), config.training().epochs())
                    .run(start, hooks);
            if (end.epoch() > config.training().epochs() && written[0] != null && test.count() > 0) {
                Map<String, Object> t = TaskEvaluation.evaluate(sc, last[0], test, features, batch,
                        FinetuneSettings.MULTICLASS, labels.size());
                LOG.info("test: accuracy {}, loss {} on {} images", t.get("accuracy"), t.get("loss"), t.get("count"));
                writeMetrics(config, sc, trainImages, validationImages, epochs, validations, t, written[0]);
            }
            runLog.finish(Map.of("checkpoint", String.valueOf(written[0])));
        } finally {
            records.unpersist();
        }
        return new PretrainJob.Result(written[0], noText, trainImages, validationImages, epochs,
                (System.nanoTime() - started) / 1e9, "image");
    }

    private static JavaRDD<TaskRecord> split(JavaRDD<Tuple2<String, TaskRecord>> records, String split) {
        return records.filter(r -> r._1().equals(split)).map(Tuple2::_2);
    }

    /** What a fine-tune needs to know of the network: its parts, the images it reads and the labels it learnt. */
    static Map<String, Object> networkInfo(CnnSpec spec, List<String> labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", spec.kind());
        m.put("encoderLayers", spec.encoderLayers());
        m.put("encoderOutput", spec.encoderOutput());
        m.put("head", spec.headLayer());
        m.put("image", Map.of("rows", spec.height(), "cols", spec.width(), "channels", spec.channels()));
        m.put("labels", labels);
        m.put("convChannels", spec.convChannels());
        m.put("kernelSize", spec.kernelSize());
        m.put("denseSize", spec.denseSize());
        m.put("dropout", spec.dropout());
        return m;
    }

    private static void writeMetrics(PretrainConfig config, JavaSparkContext sc, long trainImages,
                                     long validationImages, List<PretrainJob.Epoch> epochs,
                                     List<Map<String, Object>> validations, Map<String, Object> test,
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
        m.put("epochs", rows);
        if (test != null) {
            m.put("test", test);
        }
        RunDirectory.writeString(new Path(config.output(), PretrainJob.METRICS), Reports.toJson(m),
                sc.hadoopConfiguration());
    }
}

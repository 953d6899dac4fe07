package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.task.BinaryMetrics;
import dev.anneal.core.task.CheckpointFit;
import dev.anneal.core.task.EarlyStopping;
import dev.anneal.core.task.StableSplit;
import dev.anneal.core.task.TaskAdapter;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.RecordFeatures;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.data.LabeledTextSource;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.ingest.DatasetFiles;
import scala.Tuple2;
import dev.anneal.jobs.data.TaskRecord;
import dev.anneal.jobs.data.TaskRecordSource;
import dev.anneal.jobs.data.TrainingSubset;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import dev.anneal.jobs.eval.BinaryEvaluation;
import dev.anneal.jobs.eval.TaskEvaluation;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fine-tunes a pretrained language model into a binary text classifier: loads and verifies the checkpoint, swaps
 * the language-model head for a classifier head over the pooled encoder output, freezes what the config names,
 * trains on the train split, reports validation figures each epoch and test figures at the end next to the
 * majority-class baseline, and writes {@code <output>/model/} and {@code <output>/metrics.json}.
 */
public final class FinetuneJob {
    public static final String MODEL_DIR = "model";
    public static final String METRICS = "metrics.json";
    private static final Logger LOG = LoggerFactory.getLogger(FinetuneJob.class);

    private FinetuneJob() {
    }

    /**
     * What a fine-tuning run measured and where it wrote it; {@code test} and {@code baseline} are the binary
     * figures, {@code null} for other tasks (whose figures are in {@code metrics}).
     */
    public record Result(String model, String metricsFile, String checkpoint, Map<String, Object> metrics,
                         BinaryEvaluation.Result test, BinaryMetrics baseline, double seconds) {
    }

    /**
     * Checks the input, loads and verifies the checkpoint, checks that it fits the config ({@link CheckpointFit}) and
     * adapts it, all before Spark starts, then trains.
     *
     * @param allowFallback when the checkpoint a run directory's LATEST names is damaged, use the newest of its other
     *                      checkpoints that verifies, and say which
     */
    public static Result run(FinetuneConfig config, boolean overwrite, boolean allowFallback) {
        Configuration hadoop = new Configuration();
        boolean dataset = DatasetFiles.isDataset(config.input(), hadoop);
        boolean parquet = !dataset && LabeledTextSource.isParquet(config.input(), hadoop);
        boolean images = dataset && ImageRecords.isImageDataset(config.input(), hadoop);
        if (images) {
            requireImageTask(config, DatasetFiles.manifest(config.input(), hadoop));
        }
        CheckpointStore store = new CheckpointStore(hadoop);
        Path location = new Path(config.checkpoint());
        Path checkpointDir = store.resolve(location);
        Checkpoint pretrained;
        if (allowFallback) {
            CheckpointStore.Fallback loaded = store.readNewestValid(location, false);
            if (!loaded.skipped().isEmpty()) {
                LOG.warn("--allow-fallback: using {}; passed over {}", loaded.dir(), loaded.skipped());
            }
            checkpointDir = loaded.dir();
            pretrained = loaded.checkpoint();
        } else {
            try {
                pretrained = store.read(checkpointDir, false);
            } catch (CheckpointException e) {
                boolean runDirectory = !checkpointDir.equals(location);
                throw runDirectory ? new CheckpointException(e.getMessage()
                        + " (--allow-fallback uses the newest valid checkpoint of the run instead)", e) : e;
            }
        }
        // Every way the checkpoint does not fit the config, at once and before the output or Spark is touched.
        CheckpointFit.require(checkpointDir.toString(), pretrained, store.manifest(checkpointDir), config.freeze(),
                config.maxLength(), config.finetune(), images);
        if (images) {
            requireImageShape(checkpointDir.toString(), pretrained, DatasetFiles.manifest(config.input(), hadoop));
        }
        if (config.init().equals("random")) {
            pretrained = TaskAdapter.reinitialized(pretrained, config.seed());
            LOG.info("task.init=random: the architecture of {}, its {} parameters initialised afresh from seed {}",
                    checkpointDir, pretrained.graph().numParams(), config.seed());
        }
        ComputationGraph graph = TaskAdapter.adapt(pretrained, plan(config, 1));
        RunDirectory.prepare(config.output(), overwrite, hadoop);
        SparkSession spark = SparkSetup.session("finetune", config.master(), config.training().executor());
        Result r;
        try (RunLog runLog = RunLog.open(config.output(), "finetune", hadoop, config.training().progressSeconds())) {
            r = train(config, spark, parquet, checkpointDir.toString(), pretrained, graph, runLog);
            runLog.finish(Map.of("model", r.model(), "test", r.metrics().get("test")));
        }
        dev.anneal.jobs.report.RunReport.afterJob(config.output(), hadoop);
        return r;
    }

    /** The adaptation plan with the schedule sized for {@code updatesPerEpoch}. */
    static TaskAdapter.Plan plan(FinetuneConfig config, int updatesPerEpoch) {
        return new TaskAdapter.Plan(config.pooling(), config.freeze(), config.finetune(),
                config.training().learningRate(), updatesPerEpoch, config.training().epochs(), config.seed());
    }

    static Result train(FinetuneConfig config, SparkSession spark, boolean parquet, String checkpoint,
                        Checkpoint pretrained, ComputationGraph provisional, RunLog runLog) {
        long started = System.nanoTime();
        JavaSparkContext sc = SparkSetup.context(spark);
        CharVocabulary vocabulary = pretrained.vocabulary();
        FinetuneSettings task = config.finetune();
        boolean binary = task.task().equals(FinetuneSettings.BINARY);
        int outputs = task.outputs();
        double vf = config.validationFraction();
        double tf = config.testFraction();
        // Small next to a corpus, and read by every split and every epoch: parse the records once. An ingested
        // dataset brings its own splits (by record id); raw records are split by a hash of the text.
        JavaRDD<Tuple2<String, TaskRecord>> records;
        RecordFeatures features = RecordFeatures.text(vocabulary, config.maxLength());
        boolean images = ImageRecords.isImageDataset(config.input(), sc.hadoopConfiguration());
        if (images) {
            ImageRecords source = ImageRecords.open(spark, config.input());
            records = source.records(task.labels(), "task.labels");
            features = RecordFeatures.images(source.pixels());
        } else if (DatasetFiles.isDataset(config.input(), sc.hadoopConfiguration())) {
            if (!binary) {
                throw new ConfigException("task.type=" + task.task() + ": a dataset directory as --input carries "
                        + "0/1 labels; give the labeled JSON Lines or Parquet for this task");
            }
            records = ShardedCorpus.open(spark, config.input()).labeledText(config.maxLength())
                    .map(t -> new Tuple2<>(t._1(), new TaskRecord(t._2().text(), new float[] {t._2().label()})));
        } else {
            records = TaskRecordSource.read(spark, config.input(), config.textField(), config.labelField(), parquet,
                    task).map(r -> new Tuple2<>(StableSplit.of(r.text(), vf, tf).name().toLowerCase(), r));
        }
        records = records.persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<TaskRecord> train = TrainingSubset.stratified(
                records.filter(r -> r._1().equals("train")).map(Tuple2::_2), config.trainExamples(), config.seed(),
                FinetuneJob::key, stratum(task.task()));
        JavaRDD<TaskRecord> validation = TrainingSubset.stratified(
                records.filter(r -> r._1().equals("validation")).map(Tuple2::_2), config.validationExamples(),
                config.seed(), FinetuneJob::key, stratum(task.task()));
        JavaRDD<TaskRecord> test = records.filter(r -> r._1().equals("test")).map(Tuple2::_2);

        long trainCount = train.count();
        long validationCount = validation.count();
        long testCount = test.count();
        if (trainCount == 0 || testCount == 0) {
            throw new InputException(config.input() + ": " + trainCount + " training and " + testCount
                    + " test records; need at least one of each (split.validationFraction=" + vf
                    + ", split.testFraction=" + tf + ")");
        }
        int batch = config.training().batchSize();
        RecordFeatures featurize = features;
        JavaRDD<DataSet> minibatches = train.mapPartitions(it -> new BatchIterator<>(it, batch, featurize::batch));
        long trainBatches = train.mapPartitions(it -> {
            long n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of((n + batch - 1) / batch).iterator();
        }).fold(0L, Long::sum);
        int workers = config.training().workers() > 0 ? config.training().workers() : sc.defaultParallelism();
        // Each worker fits its share of the minibatches; an update closes every training.accumulate of them.
        int updatesPerEpoch = (int) Math.max(1, (trainBatches + workers - 1) / workers / task.accumulate());
        TaskAdapter.Plan plan = plan(config, updatesPerEpoch);
        Set<String> frozen = TaskAdapter.frozenAt(pretrained, plan, 1);
        ComputationGraph graph = TaskAdapter.refreeze(pretrained, plan, frozen, provisional);
        long trainable = TaskAdapter.trainableParameters(graph);
        LOG.info("finetune: {} (step {}) on {}; {} task, {} train, {} validation, {} test records; pooling {}, "
                        + "frozen {}, adapters {}, {} parameters ({} trainable); {}; engine {}, {} epochs",
                checkpoint, pretrained.info().step(), config.input(), task.task(), trainCount, validationCount,
                testCount, config.pooling(), frozen, task.adapterSize(), graph.numParams(), trainable,
                plan.schedule(), config.training().engine(), config.training().epochs());

        runLog.start(Reports.asMap(config), RunLog.figures("input", config.input(), "checkpoint", checkpoint,
                "task", task.task(), "train", trainCount, "validation", validationCount, "test", testCount), 1,
                config.training().epochs());
        List<Map<String, Object>> epochs = new ArrayList<>();
        Map<String, Object> lastValidation = Map.of();
        EarlyStopping stopping = task.earlyStopMetric().isEmpty() ? null : new EarlyStopping(
                task.earlyStopMetric(), FinetuneSettings.STOP_METRICS.get(task.earlyStopMetric()), task.patience());
        int epochsRun = 0;
        TrainingEngine engine = TrainingEngines.create(sc, graph, config.training(), config.seed());
        runLog.watch(engine, 1, 0, trainBatches);
        try {
            for (int epoch = 1; epoch <= config.training().epochs(); epoch++) {
                Set<String> now = TaskAdapter.frozenAt(pretrained, plan, epoch);
                if (!now.equals(frozen)) {
                    // Gradual unfreezing: the same network with fewer frozen layers, trained parameters kept.
                    engine.close();
                    graph = TaskAdapter.refreeze(pretrained, plan, now, graph);
                    graph.getConfiguration().setIterationCount((epoch - 1) * updatesPerEpoch * task.accumulate());
                    engine = TrainingEngines.create(sc, graph, config.training(), config.seed() + epoch);
                    runLog.watch(engine, epoch, 0, trainBatches);
                    LOG.info("epoch {}: unfrozen {}; frozen now {}", epoch, diff(frozen, now), now);
                    frozen = now;
                }
                long t0 = System.nanoTime();
                graph = engine.fitEpoch(minibatches);
                double seconds = (System.nanoTime() - t0) / 1e9;
                epochsRun = epoch;
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("epoch", epoch);
                e.put("seconds", seconds);
                e.put("samplesPerSecond", trainCount / seconds);
                e.put("frozen", List.copyOf(frozen));
                e.put("trainableParameters", TaskAdapter.trainableParameters(graph));
                int steps = graph.getConfiguration().getIterationCount();
                e.put("steps", steps);
                e.put("learningRate", plan.schedule().valueAt(steps / task.accumulate(), epoch));
                e.putAll(Reports.enginePass(engine, (trainCount + batch - 1) / batch, LOG));
                double loss = Double.NaN;
                if (validationCount > 0) {
                    lastValidation = evaluate(config, sc, graph, validation, vocabulary, features);
                    loss = ((Number) lastValidation.get("loss")).doubleValue();
                    e.put("validation", lastValidation);
                }
                DivergenceGuard.check(graph, validationCount > 0 ? loss : 0.0, "in epoch " + epoch);
                epochs.add(e);
                Map<String, Object> figures = new LinkedHashMap<>();
                for (String k : List.of("loss", "accuracy", "f1", "auc", "macro_f1", "micro_f1", "mae", "rmse")) {
                    if (lastValidation.get(k) instanceof Number n) {
                        figures.put("validation" + Character.toUpperCase(k.charAt(0)) + k.substring(1), n);
                    }
                }
                figures.put("step", steps);
                figures.put("learningRate", e.get("learningRate"));
                runLog.epochEnded(epoch, figures);
                if (stopping != null) {
                    double value = ((Number) lastValidation.get(stopping.metric())).doubleValue();
                    if (stopping.record(epoch, value, graph.params())) {
                        LOG.info("early stopping after epoch {}: validation {} has not improved on {} (epoch {}) "
                                + "for {} epochs", epoch, stopping.metric(), fmt(stopping.best()),
                                stopping.bestEpoch(), task.patience());
                        break;
                    }
                }
            }
        } finally {
            runLog.unwatch();
            engine.close();
        }
        Map<String, Object> stopped = new LinkedHashMap<>();
        if (stopping != null && stopping.bestParams() != null) {
            graph.setParams(stopping.bestParams());
            stopped.put("metric", stopping.metric());
            stopped.put("best", stopping.best());
            stopped.put("bestEpoch", stopping.bestEpoch());
            stopped.put("epochsRun", epochsRun);
            LOG.info("restored the weights of epoch {} (validation {} {})", stopping.bestEpoch(), stopping.metric(),
                    fmt(stopping.best()));
        }

        BinaryEvaluation.Result binaryTest = binary ? binaryEvaluate(config, sc, graph, test, vocabulary) : null;
        Map<String, Object> testResult = binary ? binaryTest.toMap()
                : evaluate(config, sc, graph, test, vocabulary, features);
        Map<String, Object> base = new LinkedHashMap<>();
        BinaryMetrics binaryBaseline = null;
        if (binary) {
            BinaryMetrics trainLabels = train.aggregate(BinaryMetrics.EMPTY,
                    (m, r) -> m.add(false, r.target()[0] == 1), BinaryMetrics::merge);
            boolean majorityPositive = trainLabels.positives() * 2 > trainLabels.count();
            binaryBaseline = test.aggregate(BinaryMetrics.EMPTY,
                    (m, r) -> m.add(majorityPositive, r.target()[0] == 1), BinaryMetrics::merge);
            base.put("majority_class", majorityPositive ? 1 : 0);
            base.put("majority_accuracy", binaryBaseline.accuracy());
            base.put("f1", binaryBaseline.f1());
        } else {
            float[] constant = TaskEvaluation.baseline(train, task.task(), outputs);
            base.put("prediction", TaskEvaluation.asList(constant));
            base.putAll(TaskEvaluation.constant(test, constant, task.task(), outputs));
        }

        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("task", task.task());
        metrics.put("validation", lastValidation);
        metrics.put("test", testResult);
        metrics.put("baseline", base);
        metrics.put("epochs", epochs);
        if (!stopped.isEmpty()) {
            metrics.put("earlyStopping", stopped);
        }
        metrics.put("records", Map.of("train", trainCount, "validation", validationCount, "test", testCount));
        metrics.put("checkpoint", Map.of("path", checkpoint, "step", pretrained.info().step()));

        Path out = new Path(config.output());
        Path modelDir = new Path(out, MODEL_DIR);
        Map<String, Object> network = new LinkedHashMap<>(pretrained.info().network());
        // An autoencoder's decoder is not part of the classifier: its manifest describes what the model.zip holds.
        network.remove("decoderLayers");
        network.remove("objective");
        network.put("pretrainedKind", pretrained.info().networkKind());
        network.put("kind", images ? "image-classifier" : "text-classifier");
        network.put("task", task.task());
        network.put("labels", task.labels());
        network.put("pooling", config.pooling());
        network.put("adapterSize", task.adapterSize());
        network.put("pretrainedCheckpoint", checkpoint);
        CheckpointInfo info = new CheckpointInfo("finetune", (long) epochsRun * trainBatches, epochsRun,
                config.seed(), network, Reports.asMap(config), Map.of("test", testResult));
        new CheckpointStore(sc.hadoopConfiguration()).write(modelDir, new Checkpoint(graph, vocabulary, info));
        metrics.put("parameters", parameters(graph, modelDir, sc));
        Path metricsFile = new Path(out, METRICS);
        RunDirectory.writeString(metricsFile, Reports.toJson(metrics), sc.hadoopConfiguration());
        LOG.info("test: {}; baseline {}", summary(testResult), summary(base));
        records.unpersist();
        return new Result(modelDir.toString(), metricsFile.toString(), checkpoint, metrics, binaryTest,
                binaryBaseline, (System.nanoTime() - started) / 1e9);
    }

    /** A record's identity for {@code split.trainExamples}' seeded draw: its text, or its pixels as a string. */
    static String key(TaskRecord r) {
        return r.text() != null ? r.text() : new String(r.image(), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** The class a record counts under when {@code split.trainExamples} draws per class: its target row. */
    static org.apache.spark.api.java.function.Function<TaskRecord, String> stratum(String task) {
        return task.equals(FinetuneSettings.REGRESSION) ? r -> "" : r -> java.util.Arrays.toString(r.target());
    }

    private static Map<String, Object> evaluate(FinetuneConfig config, JavaSparkContext sc, ComputationGraph graph,
                                                JavaRDD<TaskRecord> records, CharVocabulary vocabulary,
                                                RecordFeatures features) {
        FinetuneSettings task = config.finetune();
        if (task.task().equals(FinetuneSettings.BINARY)) {
            return binaryEvaluate(config, sc, graph, records, vocabulary).toMap();
        }
        return TaskEvaluation.evaluate(sc, graph, records, features, config.training().batchSize(), task.task(),
                task.outputs());
    }

    /** An image dataset trains a multiclass head over labels it declares: checked before Spark starts. */
    private static void requireImageTask(FinetuneConfig config, DatasetManifest manifest) {
        if (!config.finetune().task().equals(FinetuneSettings.MULTICLASS)) {
            throw new ConfigException("task.type=" + config.finetune().task() + ": an image dataset as --input "
                    + "trains a multiclass head; set task.type=multiclass and task.labels to the classes to learn");
        }
        ImageRecords.labelIndexes(manifest, config.finetune().labels(), "task.labels", config.input());
    }

    /** The checkpoint's CNN must read images of the dataset's size (exit 3 otherwise). */
    private static void requireImageShape(String where, Checkpoint pretrained, DatasetManifest manifest) {
        Map<?, ?> image = (Map<?, ?>) pretrained.info().network().get("image");
        int rows = ((Number) image.get("rows")).intValue();
        int cols = ((Number) image.get("cols")).intValue();
        if (rows != manifest.image().rows() || cols != manifest.image().cols()
                || ((Number) image.get("channels")).intValue() != 1) {
            throw new CheckpointException(where + " reads " + rows + "x" + cols + "x" + image.get("channels")
                    + " images, but the dataset's are " + manifest.image().rows() + "x" + manifest.image().cols()
                    + " greyscale");
        }
    }

    private static BinaryEvaluation.Result binaryEvaluate(FinetuneConfig config, JavaSparkContext sc,
                                                          ComputationGraph graph, JavaRDD<TaskRecord> records,
                                                          CharVocabulary vocabulary) {
        return BinaryEvaluation.evaluate(sc, graph, records.map(r -> new LabeledText(r.text(), (int) r.target()[0])),
                vocabulary, config.maxLength(), config.training().batchSize(), config.threshold());
    }

    /**
     * Parameter counts and sizes: all, trainable, the saved model, and what saving only the trained parameters
     * (adapters and head under parameter-efficient fine-tuning) would take as float32.
     */
    private static Map<String, Object> parameters(ComputationGraph graph, Path modelDir, JavaSparkContext sc) {
        Map<String, Object> p = new LinkedHashMap<>();
        long trainable = TaskAdapter.trainableParameters(graph);
        p.put("total", graph.numParams());
        p.put("trainable", trainable);
        p.put("trainableFloat32Bytes", trainable * 4);
        try {
            FileSystem fs = modelDir.getFileSystem(sc.hadoopConfiguration());
            p.put("savedModelBytes", fs.getFileStatus(new Path(modelDir, "model.zip")).getLen());
        } catch (java.io.IOException e) {
            LOG.warn("cannot read the size of {}/model.zip: {}", modelDir, e.getMessage());
        }
        return p;
    }

    private static String summary(Map<String, Object> figures) {
        StringBuilder sb = new StringBuilder();
        for (String k : List.of("loss", "accuracy", "f1", "auc", "macro_f1", "micro_f1", "mae", "rmse")) {
            if (figures.get(k) instanceof Number n) {
                sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(fmt(n.doubleValue()));
            }
        }
        return sb.length() == 0 ? "n/a" : sb.toString();
    }

    private static Set<String> diff(Set<String> before, Set<String> after) {
        Set<String> d = new LinkedHashSet<>(before);
        d.removeAll(after);
        return d;
    }

    static String fmt(double v) {
        return String.format("%.4f", v);
    }
}

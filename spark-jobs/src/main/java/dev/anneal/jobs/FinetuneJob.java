package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.task.BinaryMetrics;
import dev.anneal.core.task.CheckpointFit;
import dev.anneal.core.task.StableSplit;
import dev.anneal.core.task.TaskAdapter;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.data.LabeledTextSource;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.ingest.DatasetFiles;
import scala.Tuple2;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import dev.anneal.jobs.eval.BinaryEvaluation;
import org.apache.hadoop.conf.Configuration;
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
import java.util.List;
import java.util.Map;

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

    /** What a fine-tuning run measured and where it wrote it. */
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
                config.maxLength());
        ComputationGraph graph = TaskAdapter.binaryClassifier(pretrained, config.pooling(), config.freeze(),
                config.training().learningRate(), config.seed());
        RunDirectory.prepare(config.output(), overwrite, hadoop);
        SparkSession spark = SparkSetup.session("finetune", config.master(), config.training().executor());
        Result r;
        try (RunLog runLog = RunLog.open(config.output(), "finetune", hadoop, config.training().progressSeconds())) {
            r = train(config, spark, parquet, checkpointDir.toString(), pretrained, graph, runLog);
            runLog.finish(Map.of("model", r.model(), "test", r.test().toMap()));
        }
        dev.anneal.jobs.report.RunReport.afterJob(config.output(), hadoop);
        return r;
    }

    static Result train(FinetuneConfig config, SparkSession spark, boolean parquet, String checkpoint,
                        Checkpoint pretrained, ComputationGraph graph, RunLog runLog) {
        long started = System.nanoTime();
        JavaSparkContext sc = SparkSetup.context(spark);
        CharVocabulary vocabulary = pretrained.vocabulary();
        double vf = config.validationFraction();
        double tf = config.testFraction();
        // Small next to a corpus, and read by every split and every epoch: parse the records once.
        // An ingested dataset brings its own splits (by record id); raw records are split by a hash of the text.
        JavaRDD<Tuple2<String, LabeledText>> records = (DatasetFiles.isDataset(config.input(), sc.hadoopConfiguration())
                ? ShardedCorpus.open(spark, config.input()).labeledText()
                : LabeledTextSource.read(spark, config.input(), config.textField(), config.labelField(), parquet)
                .map(r -> new Tuple2<>(StableSplit.of(r.text(), vf, tf).name().toLowerCase(), r)))
                .persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<LabeledText> train = records.filter(r -> r._1().equals("train")).map(Tuple2::_2);
        JavaRDD<LabeledText> validation = records.filter(r -> r._1().equals("validation")).map(Tuple2::_2);
        JavaRDD<LabeledText> test = records.filter(r -> r._1().equals("test")).map(Tuple2::_2);

        BinaryMetrics trainLabels = train.aggregate(BinaryMetrics.EMPTY, (m, r) -> m.add(false, r.label() == 1),
                BinaryMetrics::merge);
        long validationCount = validation.count();
        long testCount = test.count();
        if (trainLabels.count() == 0 || testCount == 0) {
            throw new InputException(config.input() + ": " + trainLabels.count() + " training and " + testCount
                    + " test records; need at least one of each (split.validationFraction=" + vf
                    + ", split.testFraction=" + tf + ")");
        }
        int maxLength = config.maxLength();
        int batch = config.training().batchSize();
        JavaRDD<DataSet> minibatches = train.mapPartitions(it -> new BatchIterator<>(it, batch,
                b -> BinaryEvaluation.batch(b, vocabulary, maxLength)));
        LOG.info("finetune: {} (step {}) on {}; {} train ({} positive), {} validation, {} test records; "
                        + "pooling {}, frozen {}, {} parameters ({} trainable); engine {}, {} epochs",
                checkpoint, pretrained.info().step(), config.input(), trainLabels.count(), trainLabels.positives(),
                validationCount, testCount, config.pooling(), config.freeze(), graph.numParams(),
                trainableParams(graph), config.training().engine(), config.training().epochs());
        runLog.start(Reports.asMap(config), RunLog.figures("input", config.input(), "checkpoint", checkpoint,
                "train", trainLabels.count(), "trainPositive", trainLabels.positives(), "validation",
                validationCount, "test", testCount), 1, config.training().epochs());

        List<Map<String, Object>> epochs = new ArrayList<>();
        BinaryEvaluation.Result lastValidation = null;
        try (TrainingEngine engine = TrainingEngines.create(sc, graph, config.training(), config.seed())) {
            runLog.watch(engine, 1, 0, (trainLabels.count() + batch - 1) / batch);
            for (int epoch = 1; epoch <= config.training().epochs(); epoch++) {
                long t0 = System.nanoTime();
                graph = engine.fitEpoch(minibatches);
                double seconds = (System.nanoTime() - t0) / 1e9;
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("epoch", epoch);
                e.put("seconds", seconds);
                e.put("samplesPerSecond", trainLabels.count() / seconds);
                e.putAll(Reports.enginePass(engine, (trainLabels.count() + batch - 1) / batch, LOG));
                double loss = Double.NaN;
                if (validationCount > 0) {
                    lastValidation = BinaryEvaluation.evaluate(sc, graph, validation, vocabulary, maxLength, batch,
                            config.threshold());
                    loss = lastValidation.loss();
                    e.put("validation", lastValidation.toMap());
                }
                DivergenceGuard.check(graph, validationCount > 0 ? loss : 0.0, "in epoch " + epoch);
                epochs.add(e);
                runLog.epochEnded(epoch, lastValidation == null ? Map.of() : RunLog.figures("validationLoss", loss,
                        "validationAccuracy", lastValidation.counts().accuracy(), "validationF1",
                        lastValidation.counts().f1()));
            }
        }

        BinaryEvaluation.Result testResult = BinaryEvaluation.evaluate(sc, graph, test, vocabulary, maxLength, batch,
                config.threshold());
        boolean majorityPositive = trainLabels.positives() * 2 > trainLabels.count();
        BinaryMetrics baseline = test.aggregate(BinaryMetrics.EMPTY,
                (m, r) -> m.add(majorityPositive, r.label() == 1), BinaryMetrics::merge);

        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("validation", lastValidation == null ? Map.of() : lastValidation.toMap());
        metrics.put("test", testResult.toMap());
        Map<String, Object> base = new LinkedHashMap<>();
        base.put("majority_class", majorityPositive ? 1 : 0);
        base.put("majority_accuracy", baseline.accuracy());
        base.put("f1", baseline.f1());
        metrics.put("baseline", base);
        metrics.put("epochs", epochs);
        metrics.put("records", Map.of("train", trainLabels.count(), "validation", validationCount, "test", testCount));
        metrics.put("checkpoint", Map.of("path", checkpoint, "step", pretrained.info().step()));

        Path out = new Path(config.output());
        Path modelDir = new Path(out, MODEL_DIR);
        Map<String, Object> network = new LinkedHashMap<>(pretrained.info().network());
        network.put("kind", "text-classifier");
        network.put("task", "binary");
        network.put("pooling", config.pooling());
        network.put("pretrainedCheckpoint", checkpoint);
        long step = (long) config.training().epochs() * train.mapPartitions(it -> {
            long n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of((n + batch - 1) / batch).iterator();
        }).fold(0L, Long::sum);
        CheckpointInfo info = new CheckpointInfo("finetune", step,
                config.training().epochs(), config.seed(), network, Reports.asMap(config),
                Map.of("test", testResult.toMap()));
        new CheckpointStore(sc.hadoopConfiguration()).write(modelDir, new Checkpoint(graph, vocabulary, info));
        Path metricsFile = new Path(out, METRICS);
        RunDirectory.writeString(metricsFile, Reports.toJson(metrics), sc.hadoopConfiguration());
        LOG.info("test: accuracy {}, precision {}, recall {}, F1 {}, AUC {}; majority baseline accuracy {}, F1 {}",
                fmt(testResult.counts().accuracy()), fmt(testResult.counts().precision()),
                fmt(testResult.counts().recall()), fmt(testResult.counts().f1()), fmt(testResult.auc()),
                fmt(baseline.accuracy()), fmt(baseline.f1()));
        records.unpersist();
        return new Result(modelDir.toString(), metricsFile.toString(), checkpoint, metrics, testResult, baseline,
                (System.nanoTime() - started) / 1e9);
    }

    private static long trainableParams(ComputationGraph graph) {
        long n = 0;
        for (org.deeplearning4j.nn.api.Layer l : graph.getLayers()) {
            if (!(l instanceof org.deeplearning4j.nn.layers.FrozenLayer)) {
                n += l.numParams();
            }
        }
        return n;
    }

    static String fmt(double v) {
        return String.format("%.4f", v);
    }
}

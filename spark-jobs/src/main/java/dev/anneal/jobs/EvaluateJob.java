package dev.anneal.jobs;

import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.data.InputFingerprint;
import dev.anneal.core.task.TaskMetrics;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.TaskRecordSource;
import dev.anneal.jobs.engine.BroadcastModel;
import dev.anneal.jobs.eval.RocAuc;
import dev.anneal.jobs.ingest.DatasetFiles;
import dev.anneal.jobs.score.FineTunedModel;
import dev.anneal.jobs.score.InputKind;
import dev.anneal.jobs.score.InputKinds;
import dev.anneal.jobs.score.Quarantine;
import dev.anneal.jobs.score.Scorer;
import dev.anneal.jobs.score.ScoringInput;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Measures a fine-tuned checkpoint on a labeled table: scores it on the executors with the model broadcast once,
 * adds up mergeable counts ({@link TaskMetrics}: confusion, calibration bins, errors) and ranks the scores for ROC
 * AUC ({@link RocAuc}) with Spark, and writes {@code metrics.json} and the quarantined rows, all or nothing.
 */
public final class EvaluateJob {
    public static final String METRICS = "metrics.json";
    private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);

    private EvaluateJob() {
    }

    /** What was measured and where it went. */
    public record Result(String output, Map<String, Object> metrics, long scored, long quarantined,
                         double seconds, InputFingerprint fingerprint) {
    }

    /** The records of a table the config selects: fine-tuning's hash split, or null for every record. */
    static ScoringInput.HashSplit hashSplit(EvaluateConfig config) {
        return config.tableSplit() ? new ScoringInput.HashSplit(config.split(), config.validationFraction(),
                config.testFraction()) : null;
    }

    /**
     * Which records of the input the config selects, as a fingerprint names it. A dataset directory is read by its
     * split; a table whole, or by the hash split.
     */
    public static InputFingerprint fingerprint(EvaluateConfig config, Configuration hadoop) {
        String selection;
        if (DatasetFiles.isDataset(config.input(), hadoop) || ImageRecords.isImageDataset(config.input(), hadoop)) {
            selection = "split " + config.split() + " of the dataset";
        } else {
            selection = config.tableSplit() ? hashSplit(config).describe() : "all records";
        }
        return InputFingerprint.of(config.input(), selection, hadoop);
    }

    /** The figures a person looks at first, for the command's one line. */
    @SuppressWarnings("unchecked")
    static String headline(Map<String, Object> metrics) {
        Map<String, Object> m = (Map<String, Object>) metrics.get("metrics");
        StringBuilder sb = new StringBuilder();
        for (String k : List.of("accuracy", "macro_f1", "micro_f1", "auc", "ece", "mae", "rmse", "r2")) {
            if (m.get(k) instanceof Number n) {
                sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ')
                        .append(String.format("%.4f", n.doubleValue()));
            }
        }
        return sb.toString();
    }

    /** Loads and checks the checkpoint and the output before Spark starts, then evaluates. */
    public static Result run(EvaluateConfig config, boolean overwrite) {
        Configuration hadoop = new Configuration();
        FineTunedModel model = FineTunedModel.load(config.checkpoint(), config.scoring(), config.labelField(),
                hadoop);
        InputFingerprint fingerprint = fingerprint(config, hadoop);
        return AtomicOutput.produce(config.output(), overwrite, hadoop,
                out -> evaluate(SparkSetup.session("evaluate", config.master()), config, model, fingerprint, out));
    }

    private static Result evaluate(SparkSession spark, EvaluateConfig config, FineTunedModel model,
                                   InputFingerprint fingerprint, AtomicOutput out) {
        long started = System.nanoTime();
        ScoringInput input = ScoringInput.read(spark, config.input(), model, config.split(), model.labels(),
                hashSplit(config));
        InputKind kind = InputKinds.of(model, input.schema(), config.input());
        int label = InputKinds.index(input.schema(), model.labelField(), config.input());
        int corrupt = input.corruptIndex();
        String task = model.task();
        List<String> labels = model.labels();
        String labelField = model.labelField();
        Function<Row, String> check = r -> {
            try {
                TaskRecordSource.target(r.get(label), task, labels);
                return null;
            } catch (IllegalArgumentException e) {
                return labelField + ": " + e.getMessage();
            }
        };
        LOG.info("evaluate: {} ({} task, labels {}) on {} ({}); {}, label {}, threshold {}{}", model.dir(), task,
                labels, config.input(), fingerprint.selection(), kind, labelField, model.threshold(), input.leftOut() == 0 ? ""
                        : "; " + input.leftOut() + " images of other labels left out");
        BroadcastModel broadcast = BroadcastModel.of(SparkSetup.context(spark), model.checkpoint().graph());
        JavaRDD<Row> rows = input.rows(spark.sparkContext().defaultParallelism());
        JavaRDD<Scorer.Scored> scored = Scorer.score(rows, broadcast, kind,
                config.scoring().batchSize(), corrupt, check).persist(StorageLevel.MEMORY_AND_DISK());
        JavaRDD<Tuple2<float[], float[]>> pairs = scored.filter(Scorer.Scored::ok)
                .map(s -> new Tuple2<>(s.output(), TaskRecordSource.target(s.row().get(label), task, labels)))
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            int outputs = model.outputs();
            double threshold = model.threshold();
            int bins = config.calibrationBins();
            TaskMetrics counts = pairs.aggregate(new TaskMetrics(task, outputs, threshold, bins),
                    (m, p) -> m.add(p._1(), p._2()), TaskMetrics::merge);
            long quarantined = scored.filter(s -> !s.ok()).count();
            Map<String, Object> figures = counts.report(labels);
            if (!task.equals("regression") && counts.count() > 0) {
                figures.putAll(RocAuc.of(pairs, task, labels));
            }
            String dir = new Path(out.temp(), Quarantine.DIR).toString();
            Quarantine.write(spark, scored, input, dir, quarantined);
            double seconds = (System.nanoTime() - started) / 1e9;
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("task", task);
            metrics.put("labels", labels);
            metrics.put("checkpoint", model.dir());
            metrics.put("input", config.input());
            metrics.put("selection", fingerprint.selection());
            metrics.put("inputFingerprint", fingerprint.toMap());
            metrics.put("threshold", threshold);
            Map<String, Object> records = new LinkedHashMap<>();
            records.put("scored", counts.count());
            records.put("quarantined", quarantined);
            if (input.leftOut() > 0) {
                records.put("otherLabels", input.leftOut());
            }
            metrics.put("records", records);
            if (quarantined > 0) {
                metrics.put("quarantineReasons", Quarantine.reasons(scored));
            }
            metrics.put("metrics", figures);
            metrics.put("seconds", seconds);
            metrics.put("rowsPerSecond", (counts.count() + quarantined) / seconds);
            RunDirectory.writeString(new Path(out.temp(), METRICS), Reports.toJson(metrics),
                    spark.sparkContext().hadoopConfiguration());
            LOG.info("evaluate: {} scored, {} quarantined in {} s", counts.count(), quarantined,
                    String.format("%.1f", seconds));
            return new Result(config.output(), metrics, counts.count(), quarantined, seconds, fingerprint);
        } finally {
            pairs.unpersist();
            scored.unpersist();
            broadcast.destroy();
        }
    }
}

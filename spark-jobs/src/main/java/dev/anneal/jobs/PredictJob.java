package dev.anneal.jobs;

import dev.anneal.core.config.PredictConfig;
import dev.anneal.jobs.engine.BroadcastModel;
import dev.anneal.jobs.score.FineTunedModel;
import dev.anneal.jobs.score.InputKind;
import dev.anneal.jobs.score.InputKinds;
import dev.anneal.jobs.score.Predictions;
import dev.anneal.jobs.score.Quarantine;
import dev.anneal.jobs.score.Scorer;
import dev.anneal.jobs.score.ScoringInput;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores a table with a fine-tuned checkpoint on the executors, the model broadcast once: writes
 * {@code predictions/} (Parquet: the kept input columns plus {@link Predictions}' columns), {@code quarantine/} (the
 * rows it could not score, with the reason) and {@code summary.json}, all or nothing.
 */
public final class PredictJob {
    public static final String PREDICTIONS = "predictions";
    public static final String SUMMARY = "summary.json";
    private static final Logger LOG = LoggerFactory.getLogger(PredictJob.class);

    private PredictJob() {
    }

    /** What was scored and where it went. */
    public record Result(String output, Map<String, Object> summary, long scored, long quarantined,
                         double seconds) {
    }

    /** Loads and checks the checkpoint and the output before Spark starts, then scores. */
    public static Result run(PredictConfig config, boolean overwrite) {
        Configuration hadoop = new Configuration();
        FineTunedModel model = FineTunedModel.load(config.checkpoint(), config.scoring(), "", hadoop);
        return AtomicOutput.produce(config.output(), overwrite, hadoop,
                out -> predict(SparkSetup.session("predict", config.master()), config, model, out));
    }

    private static Result predict(SparkSession spark, PredictConfig config, FineTunedModel model,
                                  AtomicOutput out) {
        long started = System.nanoTime();
        ScoringInput input = ScoringInput.read(spark, config.input(), model, "test", List.of());
        InputKind kind = InputKinds.of(model, input.schema(), config.input());
        List<String> kept = config.idField().isEmpty() ? input.columns() : List.of(config.idField());
        int[] keptIndex = new int[kept.size()];
        for (int i = 0; i < keptIndex.length; i++) {
            keptIndex[i] = InputKinds.index(input.schema(), kept.get(i), config.input());
        }
        Predictions head = new Predictions(model.task(), model.labels(), model.threshold());
        List<StructField> added = head.fields(kept, config.input());
        StructType schema = Predictions.schema(input.schema(), kept, added);
        int corrupt = input.corruptIndex();
        LOG.info("predict: {} ({} task, labels {}) on {}; {}, threshold {}", model.dir(), model.task(),
                model.labels(), config.input(), kind, model.threshold());

        BroadcastModel broadcast = BroadcastModel.of(SparkSetup.context(spark), model.checkpoint().graph());
        JavaRDD<Row> rows = input.rows(spark.sparkContext().defaultParallelism());
        JavaRDD<Scorer.Scored> scored = Scorer.score(rows, broadcast, kind,
                config.scoring().batchSize(), corrupt, Scorer::none)
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long[] counts = scored.aggregate(new long[2], (c, s) -> {
                c[s.ok() ? 0 : 1]++;
                return c;
            }, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
            JavaRDD<Row> predictions = scored.filter(Scorer.Scored::ok).map(s -> {
                List<Object> values = new ArrayList<>(keptIndex.length + 4);
                for (int i : keptIndex) {
                    values.add(s.row().get(i));
                }
                values.addAll(head.values(s.output()));
                return RowFactory.create(values.toArray());
            });
            spark.createDataFrame(predictions, schema).write().parquet(new Path(out.temp(), PREDICTIONS).toString());
            Quarantine.write(spark, scored, input, new Path(out.temp(), Quarantine.DIR).toString(), counts[1]);
            double seconds = (System.nanoTime() - started) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("task", model.task());
            summary.put("labels", model.labels());
            summary.put("checkpoint", model.dir());
            summary.put("input", config.input());
            summary.put("threshold", model.threshold());
            summary.put("rows", counts[0] + counts[1]);
            summary.put("scored", counts[0]);
            summary.put("quarantined", counts[1]);
            if (counts[1] > 0) {
                summary.put("quarantineReasons", Quarantine.reasons(scored));
            }
            summary.put("columns", List.of(schema.fieldNames()));
            summary.put("seconds", seconds);
            summary.put("rowsPerSecond", (counts[0] + counts[1]) / seconds);
            RunDirectory.writeString(new Path(out.temp(), SUMMARY), Reports.toJson(summary),
                    spark.sparkContext().hadoopConfiguration());
            LOG.info("predict: {} scored, {} quarantined in {} s", counts[0], counts[1],
                    String.format("%.1f", seconds));
            return new Result(config.output(), summary, counts[0], counts[1], seconds);
        } finally {
            scored.unpersist();
            broadcast.destroy();
        }
    }
}

package dev.anneal.jobs;

import static dev.anneal.jobs.MetricDefinitions.num;
import static dev.anneal.jobs.MetricDefinitions.quarantine;
import static dev.anneal.jobs.MetricDefinitions.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.PredictConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * evaluate and predict on a CNN fine-tuned on image classes 5–9 ({@link ImageTransferTest}'s): on the ingested
 * dataset's test split, evaluate's figures must be the fine-tune's own test figures; on a Parquet table of the
 * dataset's shard rows with corrupt ones added, predict's output must hold every good row and evaluate's accuracy
 * must be the share of predictions that match the label, counted here; corrupt rows are quarantined with reasons.
 */
@SuppressWarnings("unchecked")
final class ImageScoringChecks {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> CLASSES = List.of("5", "6", "7", "8", "9");

    private ImageScoringChecks() {
    }

    static void run(SparkSession spark, Path dir, String dataset, FinetuneJob.Result tuned) throws IOException {
        Map<String, Object> finetuned = (Map<String, Object>) tuned.metrics().get("test");
        long testImages = ((Number) ((Map<?, ?>) tuned.metrics().get("records")).get("test")).longValue();

        // The dataset directory: its test split, the images of classes 0-4 left out as fine-tuning left them out.
        Path onDataset = dir.resolve("eval-dataset");
        EvaluateJob.Result e = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + onDataset, "checkpoint=" + tuned.model())), false);
        assertEquals(testImages, e.scored());
        assertEquals(0, e.quarantined());
        Map<String, Object> metrics = read(onDataset.resolve("metrics.json"));
        assertEquals(400 - testImages, num(((Map<?, ?>) metrics.get("records")).get("otherLabels")),
                "the 400 test images less those of classes 5-9");
        Map<String, Object> m = (Map<String, Object>) metrics.get("metrics");
        assertEquals(CLASSES, ((Map<?, ?>) m.get("confusion")).get("labels"));
        for (String k : List.of("accuracy", "macro_f1")) {
            assertEquals(num(finetuned.get(k)), num(m.get(k)), 1e-12, k + ": evaluate against finetune's test");
        }

        // A Parquet table in the shards' schema: the test images of classes 5-9 and four bad rows.
        Dataset<Row> shards = spark.read().option("recursiveFileLookup", "true")
                .parquet(Path.of(dataset, "shards").toString()).filter("split = 'test'");
        Dataset<Row> good = shards.filter(col("label").geq(5));
        byte[] anImage = (byte[]) good.first().getAs("image");
        StructType schema = new StructType().add("id", DataTypes.StringType).add("split", DataTypes.StringType)
                .add("source", DataTypes.StringType).add("offset", DataTypes.LongType)
                .add("label", DataTypes.IntegerType).add("image", DataTypes.BinaryType);
        List<Row> bad = List.of(RowFactory.create("short", "test", "x", 0L, 5, Arrays.copyOf(anImage, 700)),
                RowFactory.create("no-image", "test", "x", 1L, 6, null),
                RowFactory.create("other-label", "test", "x", 2L, 3, anImage),
                RowFactory.create("no-label", "test", "x", 3L, null, anImage));
        Path table = dir.resolve("images.parquet");
        good.unionByName(spark.createDataFrame(bad, schema)).repartition(3).write().parquet(table.toString());

        Path predicted = dir.resolve("predict-images");
        PredictJob.Result p = PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + table,
                "output=" + predicted, "checkpoint=" + tuned.model(), "scoring.batchSize=32")), false);
        assertEquals(testImages + 2, p.scored(), "predict reads no label: only the two bad images are refused");
        assertEquals(2, p.quarantined());
        assertEquals(Map.of("image has 700 bytes; the model reads 28x28 greyscale images of 784", 1,
                "image is missing", 1), read(predicted.resolve("summary.json")).get("quarantineReasons"));
        List<Row> rows = spark.read().parquet(predicted.resolve("predictions").toString())
                .filter(col("label").geq(5)).collectAsList();
        assertEquals(testImages, rows.size());
        long right = 0;
        for (Row r : rows) {
            String label = String.valueOf(r.<Integer>getAs("label"));
            String prediction = r.getAs("prediction");
            double best = 0;
            for (String c : CLASSES) {
                best = Math.max(best, r.<Double>getAs("probability_" + c));
            }
            assertEquals(best, r.<Double>getAs("probability"), 0.0, "the probability of the class called");
            right += prediction.equals(label) ? 1 : 0;
        }

        Path onTable = dir.resolve("eval-table");
        EvaluateJob.Result t = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + table,
                "output=" + onTable, "checkpoint=" + tuned.model())), false);
        assertEquals(testImages, t.scored());
        assertEquals(4, t.quarantined());
        Map<String, Object> tm = (Map<String, Object>) read(onTable.resolve("metrics.json")).get("metrics");
        assertEquals((double) right / testImages, num(tm.get("accuracy")), 1e-12, "accuracy counted on predict's");
        assertEquals(num(m.get("accuracy")), num(tm.get("accuracy")), 1e-12, "the same images as the dataset's");
        List<Map<String, Object>> q = quarantine(onTable);
        Map<String, String> reasons = new java.util.TreeMap<>();
        for (Map<String, Object> row : q) {
            Map<String, Object> record = JSON.readValue((String) row.get("record"), Map.class);
            reasons.put((String) record.get("id"), (String) row.get("reason"));
            assertTrue(row.get("file").toString().contains("images.parquet"), row.toString());
        }
        assertEquals(Map.of("short", "image has 700 bytes; the model reads 28x28 greyscale images of 784",
                "no-image", "image is missing", "other-label", "label: label '3' is not one of task.labels",
                "no-label", "label: no label"), reasons);

        // predict on the dataset directory scores its whole test split, whatever the label.
        PredictJob.Result all = PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + dataset,
                "output=" + dir.resolve("predict-dataset"), "checkpoint=" + tuned.model(), "predict.idField=id")),
                false);
        assertEquals(400, all.scored());
        assertEquals(List.of("id", "prediction", "probability", "probability_5", "probability_6", "probability_7",
                "probability_8", "probability_9"), all.summary().get("columns"));
    }
}

package dev.anneal.jobs;

import static dev.anneal.jobs.MetricDefinitions.pairwiseAuc;
import static dev.anneal.jobs.MetricDefinitions.num;
import static dev.anneal.jobs.MetricDefinitions.quarantine;
import static dev.anneal.jobs.MetricDefinitions.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.engine.BroadcastModel;
import dev.anneal.jobs.ingest.IngestJob;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

/**
 * evaluate and predict end to end in local mode on models fine-tuned in the test (one epoch from an untrained
 * language model: the figures need predictions, not good ones). evaluate's figures are checked against the same
 * figures computed here from predict's output by their definitions (AUC by counting pairs, ECE bin by bin); bad rows
 * are counted and quarantined with their reasons, never dropped.
 */
@SuppressWarnings("unchecked")
class EvaluatePredictTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();
    private static final int WINDOW = 48;
    private static final List<String> CLASSES = List.of("none", "comma", "period", "both");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static Path labeled;
    private static String binaryModel;
    private static String multiclassModel;
    private static final int RECORDS = 80;
    private static final int GOOD = RECORDS;

    @BeforeAll
    static void fixture() throws IOException {
        Path text = Path.of(System.getProperty("user.dir")).getParent().resolve("data-samples/text");
        String body = Files.readString(text.resolve("sotu-1862-lincoln.txt"), StandardCharsets.UTF_8)
                .replaceAll("\\s+", " ");
        labeled = dir.resolve("labeled.jsonl");
        StringBuilder lines = new StringBuilder();
        int stride = (body.length() - WINDOW) / RECORDS;
        for (int i = 0; i < RECORDS; i++) {
            String w = body.substring(i * stride, i * stride + WINDOW);
            boolean comma = w.indexOf(',') >= 0;
            boolean period = w.indexOf('.') >= 0;
            Map<String, Object> r = new HashMap<>();
            r.put("id", "w" + i);
            r.put("text", w);
            r.put("period", period ? 1 : 0);
            r.put("mark", comma && period ? "both" : comma ? "comma" : period ? "period" : "none");
            lines.append(JSON.writeValueAsString(r)).append('\n');
        }
        Files.writeString(labeled, lines.toString());

        Map<Integer, Long> counts = new HashMap<>();
        body.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        CharVocabulary vocab = CharVocabulary.fromCounts(counts, 80);
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocab.size(), 8, 16, 1);
        ComputationGraph lm = spec.build(3, new Adam(0.01), DataType.FLOAT);
        Map<String, Object> network = Map.of("kind", spec.kind(), "encoderOutput", spec.encoderOutput(),
                "head", "head", "vocabularySize", vocab.size());
        org.apache.hadoop.fs.Path ck = new org.apache.hadoop.fs.Path(dir.resolve("lm").toUri());
        new CheckpointStore(new Configuration()).write(ck, new Checkpoint(lm, vocab,
                new CheckpointInfo("pretrain", 0, 0, 3, network, Map.of(), Map.of())));
        binaryModel = finetune("binary", ck.toString(), "task.labelField=period");
        multiclassModel = finetune("multiclass", ck.toString(), "task.type=multiclass", "task.labelField=mark",
                "task.labels=" + String.join(",", CLASSES));
    }

    private static String finetune(String name, String checkpoint, String... sets) {
        List<String> all = new ArrayList<>(List.of("input=" + labeled, "output=" + dir.resolve(name),
                "checkpoint=" + checkpoint, "seed=5", "text.maxLength=" + WINDOW, "training.epochs=1",
                "training.batchSize=16", "training.learningRate=0.05", "task.freeze=",
                "split.validationFraction=0.1", "split.testFraction=0.2"));
        all.addAll(List.of(sets));
        return FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, all), false, false).model();
    }

    /** The labeled records plus four bad ones: no text, empty text, an undeclared label, a line that is not JSON. */
    private static Path withBadRows(String name, String labelField, Object badLabel) throws IOException {
        Path p = dir.resolve(name + ".jsonl");
        String bad = "{\"id\":\"no-text\",\"" + labelField + "\":" + JSON.writeValueAsString(badLabel(labelField))
                + "}\n{\"id\":\"empty\",\"text\":\"  \",\"" + labelField + "\":"
                + JSON.writeValueAsString(badLabel(labelField)) + "}\n{\"id\":\"bad-label\",\"text\":\"a, b.\",\""
                + labelField + "\":" + JSON.writeValueAsString(badLabel) + "}\n{\"id\": \"broken\n";
        Files.writeString(p, Files.readString(labeled) + bad);
        return p;
    }

    private static Object badLabel(String labelField) {
        return labelField.equals("period") ? 1 : "comma";
    }

    @Test
    void binaryFiguresAgreeWithTheirDefinitionsOnPredictOutput() throws IOException {
        Path input = withBadRows("binary-bad", "period", 7);
        Path out = dir.resolve("eval-binary");
        EvaluateJob.Result r = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + input,
                "output=" + out, "checkpoint=" + binaryModel, "scoring.batchSize=16")), false);
        assertEquals(GOOD, r.scored());
        assertEquals(4, r.quarantined());
        Map<String, Object> metrics = read(out.resolve("metrics.json"));
        assertEquals(Map.of("scored", GOOD, "quarantined", 4), metrics.get("records"));
        List<Map<String, Object>> q = quarantine(out);
        Set<String> reasons = new HashSet<>();
        q.forEach(row -> reasons.add((String) row.get("reason")));
        assertEquals(Set.of("text is missing", "text is empty", "period: label '7' is not 0 or 1",
                "not valid JSON"), reasons);
        assertTrue(q.stream().allMatch(row -> row.get("file").toString().endsWith("binary-bad.jsonl")), q.toString());

        // The same model on the good records through predict, and the figures by their definitions.
        Path predicted = dir.resolve("predict-binary");
        PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + labeled, "output=" + predicted,
                "checkpoint=" + binaryModel)), false);
        List<Row> rows = SPARK.session().read().parquet(predicted.resolve("predictions").toString())
                .select("period", "probability", "prediction").collectAsList();
        assertEquals(GOOD, rows.size());
        double[] p = rows.stream().mapToDouble(x -> x.getDouble(1)).toArray();
        int[] y = rows.stream().mapToInt(x -> (int) x.getLong(0)).toArray();
        long tp = 0;
        long fp = 0;
        long fn = 0;
        long right = 0;
        double[] binCount = new double[15];
        double[] binConf = new double[15];
        double[] binRight = new double[15];
        for (int i = 0; i < p.length; i++) {
            int call = p[i] >= 0.5 ? 1 : 0;
            assertEquals(call, rows.get(i).getInt(2));
            tp += call == 1 && y[i] == 1 ? 1 : 0;
            fp += call == 1 && y[i] == 0 ? 1 : 0;
            fn += call == 0 && y[i] == 1 ? 1 : 0;
            right += call == y[i] ? 1 : 0;
            double conf = call == 1 ? p[i] : 1 - p[i];
            int b = Math.min(14, (int) (conf * 15));
            binCount[b]++;
            binConf[b] += conf;
            binRight[b] += call == y[i] ? 1 : 0;
        }
        double ece = 0;
        for (int b = 0; b < 15; b++) {
            if (binCount[b] > 0) {
                ece += binCount[b] / p.length * Math.abs(binRight[b] / binCount[b] - binConf[b] / binCount[b]);
            }
        }
        Map<String, Object> m = (Map<String, Object>) metrics.get("metrics");
        assertEquals((double) right / p.length, num(m.get("accuracy")), 1e-12);
        assertEquals(2.0 * tp / (2 * tp + fp + fn), num(m.get("f1")), 1e-12);
        assertEquals(ece, num(m.get("ece")), 1e-6);
        assertEquals(pairwiseAuc(p, y), num(m.get("auc")), 1e-9);
        Map<String, Object> confusion = (Map<String, Object>) m.get("confusion");
        assertEquals(List.of("0", "1"), confusion.get("labels"));
        assertEquals(List.of(List.of((int) (right - tp), (int) fp), List.of((int) fn, (int) tp)),
                confusion.get("counts"));

        // The same records ingested as a dataset directory: its test split, and only that, is scored.
        Path dataset = dir.resolve("dataset");
        IngestJob.run(IngestConfig.SCHEMA.load(null, List.of("input=" + labeled, "output=" + dataset,
                "source=jsonl", "labelField=period", "idField=id", "labels=0,1", "split.testFraction=0.3",
                "vocabulary.size=80")), false);
        long testRows = SPARK.session().read().option("recursiveFileLookup", "true")
                .parquet(dataset.resolve("shards").toString())
                .filter("split = 'test'").count();
        assertTrue(testRows > 0 && testRows < GOOD, "test rows " + testRows);
        // Its text comes back as the characters a model reads: the first text.maxLength of each record.
        Set<String> firstTen = new HashSet<>();
        for (String line : Files.readAllLines(labeled)) {
            firstTen.add(((String) JSON.readValue(line, Map.class).get("text")).substring(0, 10));
        }
        List<String> cut = dev.anneal.jobs.data.ShardedCorpus.open(SPARK.session(), dataset.toString())
                .labeledText(10).map(t -> t._2().text()).collect();
        assertEquals(GOOD, cut.size());
        assertEquals(firstTen, new HashSet<>(cut));
        EvaluateJob.Result fromDataset = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of(
                "input=" + dataset, "output=" + dir.resolve("eval-dataset"), "checkpoint=" + binaryModel)), false);
        assertEquals(testRows, fromDataset.scored());
        assertEquals(0, fromDataset.quarantined());
    }

    @Test
    void multiclassPredictOnParquetQuarantinesBadRowsAndEvaluateAgreesWithIt() throws IOException {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType)
                .add("mark", DataTypes.StringType);
        List<Row> rows = new ArrayList<>();
        for (String line : Files.readAllLines(labeled)) {
            Map<String, Object> r = JSON.readValue(line, Map.class);
            rows.add(RowFactory.create(r.get("id"), r.get("text"), r.get("mark")));
        }
        rows.add(RowFactory.create("null-text", null, "none"));
        rows.add(RowFactory.create("blank-text", "   ", "none"));
        Path table = dir.resolve("table.parquet");
        SPARK.session().createDataFrame(rows, schema).repartition(4).write().parquet(table.toString());

        long broadcastsBefore = BroadcastModel.created();
        // Counts by broadcast id, which restart with each test class's Spark context: compare counts, not ids.
        Map<Long, Long> loadsBefore = new HashMap<>(BroadcastModel.loads());
        Path out = dir.resolve("predict-multiclass");
        PredictJob.Result r = PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + table,
                "output=" + out, "checkpoint=" + multiclassModel, "scoring.batchSize=8")), false);
        assertEquals(1, BroadcastModel.created() - broadcastsBefore, "one broadcast for the job");
        Map<Long, Long> loads = new HashMap<>();
        BroadcastModel.loads().forEach((id, n) -> {
            if (n > loadsBefore.getOrDefault(id, 0L)) {
                loads.put(id, n - loadsBefore.getOrDefault(id, 0L));
            }
        });
        assertEquals(1, loads.size(), "every task rebuilt the network from the one broadcast: " + loads);
        long rebuilt = loads.values().iterator().next();
        assertTrue(rebuilt >= 1 && rebuilt <= 4, "once per partition, not per batch or row: " + rebuilt);

        assertEquals(GOOD, r.scored());
        assertEquals(2, r.quarantined());
        Map<String, Object> summary = read(out.resolve("summary.json"));
        assertEquals(GOOD + 2, summary.get("rows"));
        assertEquals(Map.of("text is missing", 1, "text is empty", 1), summary.get("quarantineReasons"));
        List<Map<String, Object>> q = quarantine(out);
        assertEquals(2, q.size());
        assertTrue(q.stream().allMatch(x -> x.get("file").toString().contains("table.parquet")
                && x.get("record").toString().contains("-text")), q.toString());

        Dataset<Row> predictions = SPARK.session().read().parquet(out.resolve("predictions").toString());
        List<String> columns = new ArrayList<>(List.of("id", "text", "mark", "prediction", "probability"));
        CLASSES.forEach(c -> columns.add("probability_" + c));
        assertEquals(columns, List.of(predictions.columns()));
        List<Row> scored = predictions.collectAsList();
        assertEquals(GOOD, scored.size());
        for (Row row : scored) {
            double sum = 0;
            int best = 0;
            for (int k = 0; k < CLASSES.size(); k++) {
                double pk = row.getDouble(5 + k);
                sum += pk;
                best = pk > row.getDouble(5 + best) ? k : best;
            }
            assertEquals(1.0, sum, 1e-5, "probabilities of " + row.getString(0));
            assertEquals(CLASSES.get(best), row.getString(3));
            assertEquals(row.getDouble(5 + best), row.getDouble(4), 0.0);
        }

        multiclassFiguresAgreeWith(scored);

        // Only the id next to the predictions, on request.
        Path ids = dir.resolve("predict-ids");
        PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + table, "output=" + ids,
                "checkpoint=" + multiclassModel, "predict.idField=id")), false);
        assertEquals("id", SPARK.session().read().parquet(ids.resolve("predictions").toString()).columns()[0]);
        assertEquals(2 + CLASSES.size() + 1,
                SPARK.session().read().parquet(ids.resolve("predictions").toString()).columns().length);
    }

    /** evaluate's multiclass figures against the same figures computed from predict's {@code rows}. */
    private static void multiclassFiguresAgreeWith(List<Row> rows) throws IOException {
        Path out = dir.resolve("eval-multiclass");
        EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + withBadRows("mc-bad", "mark", "dash"),
                "output=" + out, "checkpoint=" + multiclassModel)), false);
        Map<String, Object> metrics = read(out.resolve("metrics.json"));
        assertEquals(Map.of("scored", GOOD, "quarantined", 4), metrics.get("records"));
        Map<String, Object> m = (Map<String, Object>) metrics.get("metrics");

        int markAt = rows.get(0).fieldIndex("mark");
        Map<String, Object> per = (Map<String, Object>) m.get("auc_per_class");
        double macro = 0;
        int defined = 0;
        long[][] confusion = new long[CLASSES.size()][CLASSES.size()];
        for (int k = 0; k < CLASSES.size(); k++) {
            int col = rows.get(0).fieldIndex("probability_" + CLASSES.get(k));
            String c = CLASSES.get(k);
            double[] s = rows.stream().mapToDouble(x -> x.getDouble(col)).toArray();
            int[] y = rows.stream().mapToInt(x -> x.getString(markAt).equals(c) ? 1 : 0).toArray();
            int positives = java.util.Arrays.stream(y).sum();
            if (positives > 0 && positives < y.length) {
                double auc = pairwiseAuc(s, y);
                assertEquals(auc, num(per.get(c)), 1e-9, "AUC of " + c);
                macro += auc;
                defined++;
            }
        }
        assertTrue(defined > 0, "some class has positives and negatives");
        assertEquals(macro / defined, num(m.get("auc")), 1e-9);
        int predAt = rows.get(0).fieldIndex("prediction");
        for (Row x : rows) {
            confusion[CLASSES.indexOf(x.getString(markAt))][CLASSES.indexOf(x.getString(predAt))]++;
        }
        Map<String, Object> named = (Map<String, Object>) m.get("confusion");
        assertEquals(CLASSES, named.get("labels"));
        List<List<Number>> counts = (List<List<Number>>) named.get("counts");
        double macroF1 = 0;
        for (int k = 0; k < CLASSES.size(); k++) {
            long tp = confusion[k][k];
            long fp = 0;
            long fn = 0;
            for (int j = 0; j < CLASSES.size(); j++) {
                assertEquals(confusion[k][j], counts.get(k).get(j).longValue());
                fp += j == k ? 0 : confusion[j][k];
                fn += j == k ? 0 : confusion[k][j];
            }
            macroF1 += 2 * tp + fp + fn == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
        }
        assertEquals(macroF1 / CLASSES.size(), num(m.get("macro_f1")), 1e-12);
        assertEquals(num(m.get("accuracy")), num(m.get("micro_f1")), 1e-12, "one label per record");
    }

    @Test
    void aFailedRunLeavesNoOutputAndAnExistingOneIsKept() throws IOException {
        Path out = dir.resolve("failed");
        InputException e = assertThrows(InputException.class, () -> PredictJob.run(PredictConfig.SCHEMA.load(null,
                List.of("input=" + labeled, "output=" + out, "checkpoint=" + multiclassModel,
                        "task.textField=body")), false));
        assertTrue(e.getMessage().contains("no field 'body'") && e.getMessage().contains("labeled.jsonl"),
                e.getMessage());
        assertFalse(Files.exists(out));
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(), left.filter(f -> f.getFileName().toString().startsWith(".failed")).toList());
        }
        Path kept = dir.resolve("eval-binary-kept");
        Files.createDirectories(kept);
        Files.writeString(kept.resolve("metrics.json"), "{}");
        assertThrows(ConfigException.class, () -> EvaluateJob.run(EvaluateConfig.SCHEMA.load(null,
                List.of("input=" + labeled, "output=" + kept, "checkpoint=" + binaryModel)), false));
        assertEquals("{}", Files.readString(kept.resolve("metrics.json")));
        CheckpointException notTuned = assertThrows(CheckpointException.class, () -> EvaluateJob.run(
                EvaluateConfig.SCHEMA.load(null, List.of("input=" + labeled, "output=" + dir.resolve("x"),
                        "checkpoint=" + dir.resolve("lm"))), false));
        assertTrue(notTuned.getMessage().contains("not a fine-tuned model"), notTuned.getMessage());
    }
}

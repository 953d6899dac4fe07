package dev.anneal.jobs;

import static dev.anneal.jobs.MetricDefinitions.pairwiseAuc;
import static dev.anneal.jobs.MetricDefinitions.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
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
 * Multi-label and regression heads through {@code anneal predict} and {@code anneal evaluate} in local mode, on
 * models fine-tuned in the test for four short epochs from an untrained language model (the figures need
 * predictions, not good ones, but some above the threshold): which of comma and full stop a 48-character window holds, and how many of the two. Every figure of
 * evaluate's metrics.json is recomputed here by its definition from predict's Parquet output (per-label and pooled
 * AUC by counting pairs, per-label counts and F1; MAE, RMSE and R²), and bad labels are quarantined.
 */
@SuppressWarnings("unchecked")
class EvaluatePredictTasksTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();
    private static final int WINDOW = 48;
    private static final int RECORDS = 80;
    private static final List<String> MARKS = List.of("comma", "period");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType)
            .add("text", DataTypes.StringType).add("marks", DataTypes.createArrayType(DataTypes.StringType))
            .add("kinds", DataTypes.DoubleType);

    @TempDir
    static Path dir;
    private static String table;
    private static final List<Row> ROWS = new ArrayList<>();

    @BeforeAll
    static void fixture() throws IOException {
        Path text = Path.of(System.getProperty("user.dir")).getParent().resolve("data-samples/text");
        String body = Files.readString(text.resolve("sotu-2000-clinton.txt"), StandardCharsets.UTF_8)
                .replaceAll("\\s+", " ");
        StringBuilder lines = new StringBuilder();
        int stride = (body.length() - WINDOW) / RECORDS;
        for (int i = 0; i < RECORDS; i++) {
            String w = body.substring(i * stride, i * stride + WINDOW);
            List<String> marks = new ArrayList<>();
            MARKS.forEach(m -> {
                if (w.indexOf(m.equals("comma") ? ',' : '.') >= 0) {
                    marks.add(m);
                }
            });
            lines.append(JSON.writeValueAsString(Map.of("id", "w" + i, "text", w, "marks", marks,
                    "kinds", marks.size()))).append('\n');
            ROWS.add(RowFactory.create("w" + i, w, scala.collection.JavaConverters.asScalaBuffer(marks).toSeq(),
                    (double) marks.size()));
        }
        Path labeled = dir.resolve("labeled.jsonl");
        Files.writeString(labeled, lines.toString());
        table = dir.resolve("table.parquet").toString();
        SPARK.session().createDataFrame(ROWS, SCHEMA).repartition(3).write().parquet(table);

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
        // One epoch left every multi-label probability below 0.5 (0.19-0.37); after four, "period" is called.
        for (String[] task : new String[][] {{"multilabel", "training.epochs=4", "task.labelField=marks",
                "task.labels=comma,period"}, {"regression", "training.epochs=1", "task.labelField=kinds"}}) {
            List<String> sets = new ArrayList<>(List.of("input=" + labeled, "output=" + dir.resolve(task[0]),
                    "checkpoint=" + ck, "seed=5", "text.maxLength=" + WINDOW, "training.batchSize=8",
                    "training.learningRate=0.1", "task.freeze=", "task.type=" + task[0],
                    "split.validationFraction=0", "split.testFraction=0.2"));
            sets.addAll(List.of(task).subList(1, task.length));
            FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, sets), false, false);
        }
    }

    /** predict's rows for the table (read back from its Parquet) and evaluate's metrics on the table plus bad rows. */
    private static List<Row> predict(String task) {
        Path out = dir.resolve("predict-" + task);
        PredictJob.Result r = PredictJob.run(PredictConfig.SCHEMA.load(null, List.of("input=" + table,
                "output=" + out, "checkpoint=" + model(task))), false);
        assertEquals(RECORDS, r.scored());
        return SPARK.session().read().parquet(out.resolve("predictions").toString()).collectAsList();
    }

    private static Map<String, Object> evaluate(String task, List<Row> bad, Map<String, Long> reasons)
            throws IOException {
        String input = dir.resolve("eval-input-" + task).toString();
        List<Row> rows = new ArrayList<>(ROWS);
        rows.addAll(bad);
        SPARK.session().createDataFrame(rows, SCHEMA).repartition(2).write().parquet(input);
        Path out = dir.resolve("eval-" + task);
        EvaluateJob.Result r = EvaluateJob.run(EvaluateConfig.SCHEMA.load(null, List.of("input=" + input,
                "output=" + out, "checkpoint=" + model(task))), false);
        assertEquals(RECORDS, r.scored());
        Map<String, Object> metrics = JSON.readValue(out.resolve("metrics.json").toFile(), Map.class);
        assertEquals(reasons, ((Map<String, Number>) metrics.get("quarantineReasons")).entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().longValue())));
        return (Map<String, Object>) metrics.get("metrics");
    }

    private static String model(String task) {
        return dir.resolve(task).resolve("model").toString();
    }

    @Test
    void multiLabelFiguresAgreeWithPredictsLabelArraysAndProbabilities() throws IOException {
        List<Row> rows = predict("multilabel");
        assertEquals(List.of("id", "text", "marks", "kinds", "prediction", "probability_comma",
                "probability_period"), List.of(rows.get(0).schema().fieldNames()));
        int n = rows.size();
        double[][] score = new double[MARKS.size()][n];
        int[][] truth = new int[MARKS.size()][n];
        int calls = 0;
        int empty = 0;
        for (int i = 0; i < n; i++) {
            Row r = rows.get(i);
            List<String> called = new ArrayList<>();
            for (int j = 0; j < MARKS.size(); j++) {
                score[j][i] = r.getDouble(r.fieldIndex("probability_" + MARKS.get(j)));
                truth[j][i] = r.getList(r.fieldIndex("marks")).contains(MARKS.get(j)) ? 1 : 0;
                if (score[j][i] >= 0.5) {
                    called.add(MARKS.get(j));
                }
            }
            assertEquals(called, r.getList(r.fieldIndex("prediction")), "the labels at or above the threshold");
            calls += called.size();
            empty += called.isEmpty() ? 1 : 0;
        }
        assertTrue(calls > 0 && empty > 0, "some rows have labels called, some none: " + calls + ", " + empty);
        Map<String, Object> m = evaluate("multilabel", List.of(
                RowFactory.create("undeclared", "a, b. c", scala.collection.JavaConverters
                        .asScalaBuffer(List.of("dash")).toSeq(), 1.0),
                RowFactory.create("unlabelled", "a, b. c", null, 1.0)),
                Map.of("marks: label 'dash' is not one of task.labels", 1L, "marks: no label", 1L));

        long right = 0;
        long tpAll = 0;
        long fpAll = 0;
        long fnAll = 0;
        double macroF1 = 0;
        Map<String, Object> auc = (Map<String, Object>) m.get("auc_per_class");
        Map<String, Object> confusion = (Map<String, Object>) m.get("confusion");
        List<Map<String, Object>> perClass = (List<Map<String, Object>>) m.get("per_class");
        double[] pooledScore = new double[MARKS.size() * n];
        int[] pooledTruth = new int[MARKS.size() * n];
        for (int j = 0; j < MARKS.size(); j++) {
            long tp = 0;
            long fp = 0;
            long tn = 0;
            long fn = 0;
            for (int i = 0; i < n; i++) {
                boolean p = score[j][i] >= 0.5;
                boolean t = truth[j][i] == 1;
                tp += p && t ? 1 : 0;
                fp += p && !t ? 1 : 0;
                tn += !p && !t ? 1 : 0;
                fn += !p && t ? 1 : 0;
                pooledScore[j * n + i] = score[j][i];
                pooledTruth[j * n + i] = truth[j][i];
            }
            String label = MARKS.get(j);
            assertTrue(tp + fn > 0 && tn + fp > 0, label + " has positives and negatives");
            assertEquals(Map.of("tp", tp, "fp", fp, "tn", tn, "fn", fn), longs((Map<String, Object>)
                    confusion.get(label)), label);
            double f1 = 2 * tp + fp + fn == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
            assertEquals(label, perClass.get(j).get("label"));
            assertEquals(f1, num(perClass.get(j).get("f1")), 1e-12, "F1 of " + label);
            assertEquals(tp + fn, num(perClass.get(j).get("support")), 0.0);
            assertEquals(pairwiseAuc(score[j], truth[j]), num(auc.get(label)), 1e-9, "AUC of " + label);
            macroF1 += f1;
            right += tp + tn;
            tpAll += tp;
            fpAll += fp;
            fnAll += fn;
        }
        assertEquals(macroF1 / MARKS.size(), num(m.get("macro_f1")), 1e-12);
        assertEquals(2.0 * tpAll / (2 * tpAll + fpAll + fnAll), num(m.get("micro_f1")), 1e-12);
        assertEquals((double) right / (n * MARKS.size()), num(m.get("accuracy")), 1e-12, "Hamming accuracy");
        assertEquals(pairwiseAuc(pooledScore, pooledTruth), num(m.get("auc_micro")), 1e-9, "pooled AUC");
        assertEquals((pairwiseAuc(score[0], truth[0]) + pairwiseAuc(score[1], truth[1])) / 2,
                num(m.get("auc_macro")), 1e-9);
    }

    @Test
    void regressionErrorsAgreeWithPredictsValues() throws IOException {
        List<Row> rows = predict("regression");
        assertEquals(List.of("id", "text", "marks", "kinds", "prediction"),
                List.of(rows.get(0).schema().fieldNames()));
        Map<String, Object> m = evaluate("regression", List.of(
                RowFactory.create("unlabelled", "a, b. c", null, null),
                RowFactory.create("nan", "a, b. c", null, Double.NaN)),
                Map.of("kinds: no label", 1L, "kinds: label is not finite", 1L));
        int n = rows.size();
        double abs = 0;
        double sq = 0;
        double mean = rows.stream().mapToDouble(r -> r.getDouble(r.fieldIndex("kinds"))).average().orElseThrow();
        double total = 0;
        for (Row r : rows) {
            double y = r.getDouble(r.fieldIndex("kinds"));
            double e = r.getDouble(r.fieldIndex("prediction")) - y;
            abs += Math.abs(e);
            sq += e * e;
            total += (y - mean) * (y - mean);
        }
        // The job takes each error between float32 values (the head's output and the target), this test in double.
        assertEquals(abs / n, num(m.get("mae")), 1e-6, "MAE");
        assertEquals(Math.sqrt(sq / n), num(m.get("rmse")), 1e-6, "RMSE");
        assertEquals(sq / n, num(m.get("loss")), 1e-6, "loss: the mean squared error");
        assertEquals(1 - sq / total, num(m.get("r2")), 1e-6, "R² = 1 - SS_res / SS_tot");
        assertTrue(total > 0 && sq > 0, "targets and errors vary");
    }

    private static Map<String, Long> longs(Map<String, Object> m) {
        Map<String, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, ((Number) v).longValue()));
        return out;
    }
}

package dev.anneal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Every task head end to end in local mode, on tasks the test builds from 80-character windows of three texts in
 * data-samples/text, labelled from the windows themselves so that a small, briefly pretrained model can learn them
 * in a few epochs: which of comma and full stop a window holds (none, comma, period, both: multiclass), whether there
 * is a comma and whether a full stop (multi-label), how many of the two kinds (0 to 2: regression), and whether there
 * is a full stop (binary, with adapters). Each must beat the constant baseline that the job measures next to it.
 */
@SuppressWarnings("unchecked")
class FinetuneTasksTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();
    private static final int WINDOW = 80;
    private static final int PER_SOURCE = 200;
    /** Pretraining steps of the fixture's language model (at 60 an adapter run stayed on the majority class). */
    private static final int LM_STEPS = 200;
    /** Source file and its name in the records. */
    private static final List<String[]> SOURCES = List.of(
            new String[] {"moby-dick-ch001-010.txt", "moby"},
            new String[] {"sotu-1862-lincoln.txt", "lincoln"},
            new String[] {"sotu-2000-clinton.txt", "clinton"});

    @TempDir
    static Path dir;
    private static Path data;
    private static String checkpoint;
    private static int vocabSize;

    @BeforeAll
    static void fixture() throws IOException {
        Path text = Path.of(System.getProperty("user.dir")).getParent().resolve("data-samples/text");
        data = dir.resolve("windows.jsonl");
        ObjectMapper json = new ObjectMapper();
        StringBuilder lines = new StringBuilder();
        StringBuilder all = new StringBuilder();
        for (String[] source : SOURCES) {
            String body = Files.readString(text.resolve(source[0]), StandardCharsets.UTF_8).replaceAll("\\s+", " ");
            all.append(body);
            int stride = Math.max(WINDOW, (body.length() - WINDOW) / PER_SOURCE);
            for (int i = 0; i < PER_SOURCE && i * stride + WINDOW <= body.length(); i++) {
                Map<String, Object> r = new HashMap<>();
                r.put("text", body.substring(i * stride, i * stride + WINDOW));
                String window = body.substring(i * stride, i * stride + WINDOW);
                List<String> marks = new ArrayList<>();
                if (window.indexOf(',') >= 0) {
                    marks.add("comma");
                }
                if (window.indexOf('.') >= 0) {
                    marks.add("period");
                }
                r.put("source", source[1]);
                r.put("markClass", marks.isEmpty() ? "none" : marks.size() == 2 ? "both" : marks.get(0));
                r.put("marks", marks);
                r.put("kinds", marks.size());
                r.put("period", window.indexOf('.') >= 0 ? 1 : 0);
                lines.append(json.writeValueAsString(r)).append('\n');
            }
        }
        Files.writeString(data, lines.toString());

        // A small character language model, pretrained briefly in this JVM on the same texts (labels unused).
        Map<Integer, Long> counts = new HashMap<>();
        all.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        CharVocabulary vocab = CharVocabulary.fromCounts(counts, 120);
        vocabSize = vocab.size();
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocab.size(), 16, 48, 1);
        ComputationGraph lm = spec.build(7, new Adam(0.01), DataType.FLOAT);
        int[] ids = vocab.encode(all.toString());
        for (int step = 0; step < LM_STEPS; step++) {
            int[][] windows = new int[32][];
            for (int b = 0; b < windows.length; b++) {
                int start = (int) (((long) (step * 32 + b) * 7919) % (ids.length - 81));
                windows[b] = Arrays.copyOfRange(ids, start, start + 81);
            }
            lm.fit(LanguageModelBatches.languageModelBatch(windows, vocab.size()));
        }
        Map<String, Object> network = Map.of("kind", spec.kind(), "encoderOutput", spec.encoderOutput(),
                "head", "head", "vocabularySize", vocab.size());
        Checkpoint c = new Checkpoint(lm, vocab, new CheckpointInfo("pretrain", LM_STEPS, 1, 7, network, Map.of(),
                Map.of()));
        org.apache.hadoop.fs.Path ck = new org.apache.hadoop.fs.Path(dir.resolve("lm").toUri());
        new CheckpointStore(new Configuration()).write(ck, c);
        checkpoint = ck.toString();
    }

    /**
     * The fixture's encoder is pretrained for only 200 steps, so four short epochs need a rate higher than a
     * fine-tune of a well-trained encoder would use: at 0.03 the multiclass and the adapter runs sometimes stayed on
     * the majority class.
     */
    private static FinetuneJob.Result finetune(String name, String... sets) {
        List<String> all = new ArrayList<>(List.of("input=" + data, "output=" + dir.resolve(name),
                "checkpoint=" + checkpoint, "seed=11", "text.maxLength=" + WINDOW, "task.textField=text",
                "training.epochs=4", "training.batchSize=16", "training.averagingFrequency=2",
                "training.learningRate=0.1", "task.learningRates=encoder=0.3", "schedule.warmup=0.1",
                "schedule.decay=cosine",
                "split.validationFraction=0.2", "split.testFraction=0.25"));
        all.addAll(List.of(sets));
        return FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, all), false, false);
    }

    private static double figure(FinetuneJob.Result r, String split, String key) {
        return ((Number) ((Map<String, Object>) r.metrics().get(split)).get(key)).doubleValue();
    }

    @Test
    void multiclassWithGradualUnfreezingBeatsTheMajorityClass() {
        FinetuneJob.Result r = finetune("multiclass", "task.type=multiclass", "task.labelField=markClass",
                "task.labels=none,comma,period,both", "task.freezeFirst=1", "task.unfreezeEvery=1",
                "regularization.dropout=0.1", "training.gradientClip=1.0");

        // At the rate 0.03 (and a 60-step language model) a CI run stayed on the majority class (accuracy 0.331);
        // as configured here seeds 11 and 12 reached 0.775 and 0.669 (macro F1 0.702 and 0.472 against 0.124).
        double accuracy = figure(r, "test", "accuracy");
        double majority = figure(r, "baseline", "accuracy");
        assertTrue(accuracy > majority + 0.15, "accuracy " + accuracy + " vs majority " + majority);
        double macro = figure(r, "test", "macro_f1");
        double baseMacro = figure(r, "baseline", "macro_f1");
        assertTrue(macro > baseMacro + 0.15, "macro F1 " + macro + " vs majority " + baseMacro);
        List<Map<String, Object>> epochs = (List<Map<String, Object>>) r.metrics().get("epochs");
        assertEquals(List.of("embedding"), epochs.get(0).get("frozen"));
        assertEquals(List.of(), epochs.get(1).get("frozen"), "thawed after the first epoch");
        long first = ((Number) epochs.get(0).get("trainableParameters")).longValue();
        long last = ((Number) epochs.get(1).get("trainableParameters")).longValue();
        assertTrue(first < last, first + " then " + last);
    }

    @Test
    void multiLabelBeatsEachLabelsMajority() {
        FinetuneJob.Result r = finetune("multilabel", "task.type=multilabel", "task.labelField=marks",
                "task.labels=comma,period");

        double f1 = figure(r, "test", "micro_f1");
        double baseF1 = figure(r, "baseline", "micro_f1");
        double accuracy = figure(r, "test", "accuracy");
        double baseAccuracy = figure(r, "baseline", "accuracy");
        assertTrue(accuracy > baseAccuracy + 0.1, "Hamming accuracy " + accuracy + " vs " + baseAccuracy);
        assertTrue(f1 > baseF1, "micro F1 " + f1 + " vs " + baseF1);
    }

    @Test
    void regressionBeatsTheMean() {
        FinetuneJob.Result r = finetune("regression", "task.type=regression", "task.labelField=kinds",
                "task.loss=mse", "schedule.decay=linear", "training.epochs=6");

        // Seeds 11 and 12: RMSE 0.455 and 0.463, MAE 0.429 and 0.427, against the mean's 0.644 and 0.483 (at the
        // rate 0.03, 4 epochs and a 60-step language model one seed's MAE was within 0.001 of the mean's).
        double rmse = figure(r, "test", "rmse");
        double meanRmse = figure(r, "baseline", "rmse");
        assertTrue(rmse < meanRmse - 0.03, "RMSE " + rmse + " vs the mean's " + meanRmse);
        double mae = figure(r, "test", "mae");
        double meanMae = figure(r, "baseline", "mae");
        assertTrue(mae < meanMae, "MAE " + mae + " vs the mean's " + meanMae);
    }

    @Test
    void adaptersWithAccumulationAndEarlyStoppingTrainAFractionOfTheParameters() {
        FinetuneJob.Result r = finetune("adapters", "task.labelField=period", "task.adapterSize=8",
                "training.accumulate=2", "earlyStopping.metric=loss", "earlyStopping.patience=1",
                "regularization.weightDecay=0.01", "training.learningRate=0.03");

        // Adapters and head alone at the fixture's 0.1 oscillated (training loss rising from epoch 1; seed 12 stopped
        // early at accuracy 0.44 against the majority's 0.46); at 0.03 seeds 11 and 12 reached test accuracy 0.599
        // and 0.958 (ROC AUC 0.999 and 0.998) against the majority's 0.458.

        assertTrue(r.test().counts().accuracy() > r.baseline().accuracy() + 0.05,
                "accuracy " + r.test().counts().accuracy() + " vs majority " + r.baseline().accuracy());
        Map<String, Object> p = (Map<String, Object>) r.metrics().get("parameters");
        long trainable = ((Number) p.get("trainable")).longValue();
        assertEquals(48 * 8 * 2 + 48 + 8 + 48 + 1, trainable, "one adapter on lstm_0 and the head");
        long total = ((Number) p.get("total")).longValue();
        assertEquals(16L * vocabSize + 4 * (16 * 48 + 48 * 48 + 48) + trainable, total,
                "embedding, LSTM, adapter, head");
        assertTrue(((Number) p.get("savedModelBytes")).longValue() > 0);
        Map<String, Object> stop = (Map<String, Object>) r.metrics().get("earlyStopping");
        assertEquals("loss", stop.get("metric"));
        List<Map<String, Object>> epochs = (List<Map<String, Object>>) r.metrics().get("epochs");
        double bestSeen = epochs.stream().mapToDouble(e -> ((Number) ((Map<String, Object>) e.get("validation"))
                .get("loss")).doubleValue()).min().orElseThrow();
        assertEquals(bestSeen, ((Number) stop.get("best")).doubleValue(), 1e-12, "the best epoch is kept");
    }

    @Test
    void aLabelOutsideTheDeclaredSetIsRefusedNamingTheRecord() {
        InputException e = assertThrows(InputException.class, () -> finetune("bad", "task.type=multiclass",
                "task.labelField=source", "task.labels=moby,lincoln"));
        assertTrue(e.getMessage().contains("'clinton' is not one of task.labels"), e.getMessage());
        assertTrue(e.getMessage().contains("windows.jsonl"), e.getMessage());
    }
}

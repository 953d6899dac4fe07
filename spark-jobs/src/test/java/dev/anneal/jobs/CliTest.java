package dev.anneal.jobs;

import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line's contract: exit codes, one clear line naming the path, field or record, and config errors
 * reported quickly and before any Spark session exists.
 */
class CliTest {
    @TempDir
    Path dir;

    private String out;
    private String err;

    private int run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        out = o.toString(StandardCharsets.UTF_8);
        err = e.toString(StandardCharsets.UTF_8);
        return code;
    }

    @AfterEach
    void noSparkWasStarted() {
        assertTrue(SparkSession.getDefaultSession().isEmpty(), "the command must fail before Spark starts");
    }

    @Test
    void unknownConfigKeyIsAUsageErrorThatSuggestsTheKnownKey() {
        long t0 = System.nanoTime();
        int code = run("pretrain", "--input", dir.toString(), "--output", dir.resolve("out").toString(),
                "--set", "training.batchSzie=3");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, code);
        assertTrue(err.contains("'training.batchSzie'") && err.contains("did you mean 'training.batchSize'"), err);
        assertTrue(seconds < 5, "config errors come in under 5 s, took " + seconds);
        assertEquals(1, err.strip().lines().count(), "one line, no stack trace: " + err);
    }

    @Test
    void invalidValueNamesTheFieldAndRule() {
        assertEquals(2, run("pretrain", "--input", "x", "--output", "y", "--set", "training.batchSize=-3"));
        assertTrue(err.contains("training.batchSize must be > 0, got -3"), err);
    }

    @Test
    void ingestConfigErrorsAndMissingInputComeBeforeSpark() throws IOException {
        assertEquals(2, run("ingest", "--input", "x", "--output", "y", "--set", "source=csv"));
        assertTrue(err.contains("source must be one of") && err.contains("csv"), err);
        assertEquals(2, run("ingest", "--input", "x", "--output", "y", "--set", "maxBadFraction=1.5"));
        assertTrue(err.contains("maxBadFraction must be in [0, 1], got 1.5"), err);
        assertEquals(3, run("ingest", "--input", dir.resolve("none").toString(), "--output",
                dir.resolve("ds").toString()));
        assertTrue(err.contains("input not found") && err.contains("none"), err);
        Files.createDirectories(dir.resolve("busy"));
        Files.writeString(dir.resolve("busy/file.txt"), "x");
        Files.writeString(dir.resolve("in.txt"), "some text");
        assertEquals(2, run("ingest", "--input", dir.resolve("in.txt").toString(), "--output",
                dir.resolve("busy").toString()));
        assertTrue(err.contains("exists and is not empty"), err);
        assertEquals(0, run("ingest", "--help"));
        assertTrue(out.contains("record.overlong") && out.contains("maxBadFraction"), out);
    }

    @Test
    void missingRequiredPathNamesTheFlag() {
        assertEquals(2, run("finetune", "--input", "x", "--output", "y"));
        assertTrue(err.contains("checkpoint is required") && err.contains("--checkpoint"), err);
    }

    @Test
    void unknownCommandAndOptionAreUsageErrors() {
        assertEquals(2, run("pretrian"));
        assertTrue(err.contains("unknown command 'pretrian'"), err);
        assertEquals(2, run("pretrain", "--inptu", "x"));
        assertTrue(err.contains("unknown option '--inptu'"), err);
        assertEquals(2, run("pretrain", "--config", dir.resolve("nope.yaml").toString()));
        assertTrue(err.contains("config file not found") && err.contains("nope.yaml"), err);
    }

    @Test
    void noCommandPrintsUsageAndIsAUsageError() {
        assertEquals(2, run());
        assertTrue(err.contains("usage: anneal <command>"), err);
    }

    @Test
    void helpListsEveryConfigKeyWithItsDefault() {
        assertEquals(0, run("pretrain", "--help"));
        PretrainConfig.SCHEMA.fields().forEach(f -> assertTrue(out.contains(f.key()), f.key()));
        assertTrue(out.contains("(default: 64)"), out);
        assertEquals(0, run("finetune", "--help"));
        FinetuneConfig.SCHEMA.fields().forEach(f -> assertTrue(out.contains(f.key()), f.key()));
    }

    @Test
    void evaluateAndPredictCheckTheirConfigAndCheckpointBeforeSpark() throws IOException {
        assertEquals(0, run("evaluate", "--help"));
        EvaluateConfig.SCHEMA.fields().forEach(f -> assertTrue(out.contains(f.key()), f.key()));
        assertEquals(0, run("predict", "--help"));
        PredictConfig.SCHEMA.fields().forEach(f -> assertTrue(out.contains(f.key()), f.key()));
        assertEquals(2, run("predict", "--input", "t.parquet", "--output", "o"));
        assertTrue(err.contains("checkpoint is required") && err.contains("--checkpoint"), err);
        assertEquals(2, run("evaluate", "--input", "t", "--output", "o", "--checkpoint", "m",
                "--set", "evaluate.calibrationBins=0"));
        assertTrue(err.contains("evaluate.calibrationBins"), err);
        Path notCheckpoint = Files.createDirectories(dir.resolve("some-dir"));
        Files.writeString(notCheckpoint.resolve("model.zip"), "not a zip");
        assertEquals(3, run("predict", "--input", "t.parquet", "--checkpoint", notCheckpoint.toString(),
                "--output", dir.resolve("out").toString()));
        assertTrue(err.contains("is not an Anneal checkpoint") && err.contains("some-dir"), err);
        assertFalse(Files.exists(dir.resolve("out")), "nothing is written when the checkpoint is refused");
    }

    @Test
    void missingInputIsBadInput() {
        assertEquals(3, run("pretrain", "--input", dir.resolve("no-such-corpus").toString(),
                "--output", dir.resolve("out").toString()));
        assertTrue(err.contains("input not found") && err.contains("no-such-corpus"), err);
    }

    @Test
    void emptyCorpusIsBadInput() throws IOException {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("empty.txt"), "");
        assertEquals(3, run("pretrain", "--input", corpus.toString(), "--output", dir.resolve("out").toString()));
        assertTrue(err.contains("is empty") && err.contains(corpus.toString()), err);
    }

    @Test
    void nonAnnealCheckpointIsBadInput() throws IOException {
        Path labeled = dir.resolve("emails.jsonl");
        Files.writeString(labeled, "{\"text\":\"hi\",\"label\":0}\n");
        Path notCheckpoint = Files.createDirectories(dir.resolve("some-dir"));
        Files.writeString(notCheckpoint.resolve("model.zip"), "not a zip");
        assertEquals(3, run("finetune", "--input", labeled.toString(), "--checkpoint", notCheckpoint.toString(),
                "--output", dir.resolve("out").toString()));
        assertTrue(err.contains("is not an Anneal checkpoint") && err.contains("some-dir"), err);
        assertFalse(Files.exists(dir.resolve("out")), "nothing is written when the checkpoint is refused");
    }

    @Test
    void damagedLatestCheckpointNamesTheFileAndTheFallbackOption() throws IOException {
        CheckpointStore store = new CheckpointStore(new Configuration());
        org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.resolve("run").toUri());
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        for (long step : new long[] {10, 20}) {
            store.writeStep(run, new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", step, (int) step / 10, 1,
                    Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of())));
        }
        Path model = dir.resolve("run/checkpoints/step-20").resolve(CheckpointStore.MODEL);
        Files.deleteIfExists(model.resolveSibling("." + CheckpointStore.MODEL + ".crc"));
        Files.write(model, Arrays.copyOf(Files.readAllBytes(model), 100));
        Path labeled = dir.resolve("emails.jsonl");
        Files.writeString(labeled, "{\"text\":\"hi\",\"label\":0}\n");

        assertEquals(3, run("finetune", "--input", labeled.toString(), "--checkpoint", dir.resolve("run").toString(),
                "--output", dir.resolve("out").toString()));
        assertTrue(err.contains("step-20") && err.contains("model.zip") && err.contains("--allow-fallback"), err);
        assertEquals(2, run("pretrain", "--allow-fallback"));
        assertTrue(err.contains("--allow-fallback is a finetune option"), err);
    }

    @Test
    void checkpointThatDoesNotFitTheConfigIsBadInputListingEveryDifference() throws IOException {
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.resolve("run").toUri());
        new CheckpointStore(new Configuration()).writeStep(run, new Checkpoint(graph, vocab, new CheckpointInfo(
                "pretrain", 10, 1, 1, Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head",
                "vocabularySize", 7), Map.of(), Map.of())));
        Path labeled = dir.resolve("emails.jsonl");
        Files.writeString(labeled, "{\"text\":\"hi\",\"label\":0}\n");

        assertEquals(3, run("finetune", "--input", labeled.toString(), "--checkpoint", dir.resolve("run").toString(),
                "--output", dir.resolve("out").toString(), "--set", "task.freeze=embedding,lstm_1,head"));

        assertTrue(err.contains("step-10 does not fit the fine-tune config (3 differences): 1) "), err);
        assertTrue(err.contains("network.vocabularySize is 7, but vocab.json has 4 entries")
                && err.contains("'lstm_1'") && err.contains("'head'"), err);
        assertEquals(1, err.strip().lines().count(), "one line, no stack trace: " + err);
        assertFalse(Files.exists(dir.resolve("out")), "nothing is written when the checkpoint does not fit");
    }

    @Test
    void existingOutputIsRefusedWithoutOverwrite() throws IOException {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "some text\n");
        Path output = Files.createDirectories(dir.resolve("out"));
        Files.writeString(output.resolve("precious.txt"), "keep me");
        assertEquals(2, run("pretrain", "--input", corpus.toString(), "--output", output.toString()));
        assertTrue(err.contains("exists") && err.contains("--overwrite"), err);
        assertTrue(Files.exists(output.resolve("precious.txt")), "nothing of the existing output is touched");
    }
}

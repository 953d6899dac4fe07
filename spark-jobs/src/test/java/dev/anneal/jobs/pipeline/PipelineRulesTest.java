package dev.anneal.jobs.pipeline;

import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.pipeline.PipelineState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pipeline's rules that need no Spark: promotion, the pass length, slice detection, config checks. */
class PipelineRulesTest {
    @Test
    void promotionNeedsMoreThanMinImprovementAndANumber() {
        assertTrue(Promotion.decide("f1", 0.5, null, null, 0.1).promote(), "first model");
        assertFalse(Promotion.decide("f1", 0.7, 0.7, "v0001", 0).promote(), "a tie keeps the current model");
        assertTrue(Promotion.decide("f1", 0.71, 0.7, "v0001", 0).promote());
        assertFalse(Promotion.decide("f1", 0.705, 0.7, "v0001", 0.01).promote());
        assertTrue(Promotion.decide("f1", 0.72, 0.7, "v0001", 0.01).promote());
        assertFalse(Promotion.decide("auc", Double.NaN, null, null, 0).promote(), "NaN is never promoted");
    }

    @Test
    void passesEndOnTheTargetStep() {
        assertEquals(20, PipelineJob.passEvery(200, 20, 0));
        assertEquals(20, PipelineJob.passEvery(0, 20, 40));
        assertEquals(50, PipelineJob.passEvery(200, 150, 300));
        assertEquals(5, PipelineJob.passEvery(200, 20, 45), "a start off the grid shortens the passes");
        for (long[] c : new long[][] {{200, 20, 45}, {7, 20, 0}, {200, 150, 300}, {0, 33, 12}}) {
            long every = PipelineJob.passEvery(c[0], c[1], c[2]);
            assertEquals(0, (c[2] + c[1]) % every, "target " + (c[2] + c[1]) + " is a multiple of " + every);
        }
    }

    private static DatasetManifest.Slice slice(int index, String source) {
        return new DatasetManifest.Slice(index, "2026-11-30T00:00:00Z", "text", List.of(source), 10, 1, 0, Map.of(),
                0, 10, 0, "", new DatasetManifest.Overlong(0, 0, 0, 0));
    }

    @Test
    void anIngestedSliceIsFoundOnlyAtOrAfterTheRecordedIndex() {
        DatasetManifest m = new DatasetManifest(DatasetManifest.SCHEMA_VERSION, "text", "t", "t", 42, null,
                List.of(), null, new DatasetManifest.Splits(0.05, 0), List.of(slice(0, "file:/raw/a"),
                slice(1, "file:/raw/b")), List.of());
        assertEquals(1, PipelineJob.sliceIngested(m, 1, "file:/raw/b").orElseThrow().index());
        assertTrue(PipelineJob.sliceIngested(m, 2, "file:/raw/b").isEmpty(), "an earlier run's slice of the same "
                + "source is not this run's");
        assertTrue(PipelineJob.sliceIngested(m, 0, "file:/raw/c").isEmpty());
        assertTrue(PipelineJob.sliceIngested(null, 0, "file:/raw/a").isEmpty());
    }

    @Test
    void aRerunWithAnotherSliceIsRefusedBeforeAnythingIsIngested(@TempDir Path dir) {
        org.apache.hadoop.conf.Configuration hadoop = new org.apache.hadoop.conf.Configuration();
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(dir.toUri());
        PipelineConfig config = PipelineConfig.SCHEMA.load(null, List.of("root=" + root, "runId=day2",
                "slice=" + dir.resolve("raw/b").toUri(), "ingest.config=../conf/ingest-text.yaml",
                "pretrain.config=../conf/pretrain.yaml", "finetune.config=../conf/finetune.yaml"));
        PipelineState state = PipelineState.load(new org.apache.hadoop.fs.Path(root, "pipeline"), "day2", hadoop);
        state.record("ingest", PipelineState.STARTED, Map.of("slice", dir.resolve("raw/a").toUri().toString(),
                "fromSliceIndex", 1));
        PipelineJob.Steps steps = new PipelineJob.Steps(config, new StageConfigs(config, root + "/dataset",
                root + "/runs/pretrain", hadoop), state, root, hadoop);
        ConfigException e = assertThrows(ConfigException.class, steps::ingest);
        assertTrue(e.getMessage().contains("was started with slice") && e.getMessage().contains("raw/a"),
                e.getMessage());
        assertFalse(java.nio.file.Files.exists(dir.resolve("dataset")));
    }

    @Test
    void theEvaluationDataIsTheFineTunesTestSplitUnlessEvaluateInputNamesOther(@TempDir Path dir) {
        org.apache.hadoop.conf.Configuration hadoop = new org.apache.hadoop.conf.Configuration();
        List<String> base = List.of("root=" + dir.toUri(), "runId=d", "slice=/tmp/s",
                "labeled=../data-samples/spam/emails.jsonl", "ingest.config=../conf/ingest-text.yaml",
                "pretrain.config=../conf/pretrain.yaml", "finetune.config=../conf/finetune.yaml",
                "finetune.overrides=split.testFraction=0.3,split.validationFraction=0.1");
        EvaluateConfig byDefault = new StageConfigs(PipelineConfig.SCHEMA.load(null, base), "ds", "pre", hadoop)
                .evaluate("ckpt", "out");
        assertEquals("../data-samples/spam/emails.jsonl", byDefault.input());
        assertTrue(byDefault.tableSplit());
        assertEquals("test", byDefault.split());
        assertEquals(0.3, byDefault.testFraction());
        assertEquals(0.1, byDefault.validationFraction());
        assertEquals("ckpt", byDefault.checkpoint());

        List<String> other = new java.util.ArrayList<>(base);
        other.addAll(List.of("evaluate.input=/data/held-out.parquet", "evaluate.overrides=scoring.batchSize=16"));
        EvaluateConfig given = new StageConfigs(PipelineConfig.SCHEMA.load(null, other), "ds", "pre", hadoop)
                .evaluate("ckpt", "out");
        assertEquals("/data/held-out.parquet", given.input());
        assertFalse(given.tableSplit(), "a held-out table is scored whole");
        assertEquals(16, given.scoring().batchSize());

        List<String> wrong = new java.util.ArrayList<>(base);
        wrong.add("evaluate.overrides=evaluate.split=holdout");
        ConfigException e = assertThrows(ConfigException.class, () -> new StageConfigs(
                PipelineConfig.SCHEMA.load(null, wrong), "ds", "pre", hadoop));
        assertTrue(e.getMessage().contains("evaluate step (evaluate.overrides)")
                && e.getMessage().contains("evaluate.split"), e.getMessage());
    }

    @Test
    void theCommandMapsInputAndOutputAndFailsWithExit2BeforeSparkWithoutARunId() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = dev.anneal.jobs.Main.run(new String[] {"pipeline", "--input", "/tmp/raw/day1", "--output",
                "/tmp/pipeline"}, new java.io.PrintStream(out, true), new java.io.PrintStream(err, true));
        assertEquals(2, code);
        assertEquals("anneal: runId is required: set it in the config file or give --set runId=ID\n",
                err.toString());
        code = dev.anneal.jobs.Main.run(new String[] {"pipeline", "--help"}, new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true));
        assertEquals(0, code);
        assertTrue(out.toString().contains("usage: anneal pipeline") && out.toString().contains("lock.staleMinutes")
                && out.toString().contains("promote.minImprovement"), out.toString());
    }

    @Test
    void theConfigNamesWhatIsMissingOrWrong() {
        ConfigException e = assertThrows(ConfigException.class, () -> PipelineConfig.SCHEMA.load(null,
                List.of("root=/tmp/p", "slice=/tmp/s")));
        assertTrue(e.getMessage().contains("runId is required"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> PipelineConfig.SCHEMA.load(null,
                List.of("root=/tmp/p", "slice=/tmp/s", "runId=../x")));
        assertTrue(e.getMessage().contains("runId must be"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> PipelineConfig.SCHEMA.load(null,
                List.of("root=/tmp/p", "slice=/tmp/s", "runId=d", "promote.metric=loss")));
        assertTrue(e.getMessage().contains("promote.metric"), e.getMessage());
        PipelineConfig c = PipelineConfig.SCHEMA.load(Path.of("../conf/pipeline.yaml"),
                List.of("runId=2026-11-30", "slice=/tmp/s"));
        assertEquals("conf/ingest-text.yaml", c.ingestConfig());
        assertEquals(200, c.stepsPerRun());
    }
}

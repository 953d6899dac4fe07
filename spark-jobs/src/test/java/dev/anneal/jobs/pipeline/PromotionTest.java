package dev.anneal.jobs.pipeline;

import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.pipeline.ModelRegistry;
import dev.anneal.core.pipeline.PipelineState;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The promote step over a real registry directory: the first model is promoted, a better one replaces it, a worse
 * one is logged and rejected; and a rerun after a kill in each window of the step (decided, version copied, CURRENT
 * replaced, logged) finishes it without a second version, a second log entry or a changed decision.
 */
class PromotionTest {
    @TempDir
    java.nio.file.Path dir;

    private final Configuration conf = new Configuration();

    private Path root() {
        return new Path(dir.resolve("root").toUri());
    }

    private ModelRegistry registry() {
        return new ModelRegistry(new Path(root(), "models/spam"), conf);
    }

    private PipelineConfig config(String runId, double minImprovement) {
        return PipelineConfig.SCHEMA.load(null, List.of("root=" + root(), "runId=" + runId, "slice=unused",
                "promote.metric=f1", "promote.minImprovement=" + minImprovement));
    }

    /** The state of a run whose steps before promote are done, with a fine-tune output of test F1 {@code f1}. */
    private PipelineState ready(String runId, double f1) throws IOException {
        java.nio.file.Path out = dir.resolve("root/runs/finetune/" + runId);
        Files.createDirectories(out.resolve("model"));
        Files.writeString(out.resolve("model/model.zip"), "weights of " + runId);
        Files.writeString(out.resolve("metrics.json"), "{\"test\":{\"f1\":" + f1 + "}}");
        PipelineState s = state(runId);
        s.record("pretrain", PipelineState.DONE, Map.of("checkpoint", "ckpt-" + runId, "step", 10));
        s.record("finetune", PipelineState.DONE, Map.of("output", out.toUri().toString(),
                "model", out.resolve("model").toUri().toString(), "metrics", out.resolve("metrics.json").toUri()
                        .toString()));
        // The evaluate step's record: every run measured on the same data, so each current model's figure is the
        // one its version.json holds (no evaluation runs here; PipelineCrashTest runs them).
        s.record("evaluate", PipelineState.DONE, Map.of("data", DATA, "candidate", Map.of("metrics",
                Map.of("f1", f1), "scored", 40, "output", "evaluations/" + runId + "/candidate")));
        return s;
    }

    private static final Map<String, Object> DATA = Map.of("input", "file:/held-out.jsonl", "selection",
            "all records", "sha256", "d1", "files", 1, "bytes", 100);

    private PipelineState state(String runId) {
        return PipelineState.load(new Path(root(), "pipeline"), runId, conf);
    }

    private Map<String, String> promote(String runId, double minImprovement) {
        Map<String, String> log = new LinkedHashMap<>();
        PipelineConfig config = config(runId, minImprovement);
        new Promotion(config, state(runId), root(), conf, log, new Evaluation(config, null, state(runId), root(),
                conf)).promote();
        return log;
    }

    private List<Object> decisions() {
        return registry().promotions().stream().map(e -> e.get("runId") + ":" + e.get("decision")).map(o -> (Object) o)
                .toList();
    }

    @Test
    void theFirstModelIsPromotedABetterOneReplacesItAWorseOneIsLoggedOnly() throws IOException {
        ready("day1", 0.60);
        assertTrue(promote("day1", 0).get("promote").startsWith("promoted as v0001: first model"));
        ready("day2", 0.70);
        promote("day2", 0);
        ready("day3", 0.65);
        assertTrue(promote("day3", 0).get("promote").startsWith("rejected: f1 0.6500 vs 0.7000 of v0002"));
        ready("day4", 0.705);
        promote("day4", 0.01);
        assertEquals("v0002", registry().current().orElseThrow().name());
        assertEquals(List.of("v0001", "v0002"), registry().versions());
        assertEquals(List.of("day1:promoted", "day2:promoted", "day3:rejected", "day4:rejected"), decisions());
        Map<String, Object> rejected = registry().promotionOf("day3").orElseThrow();
        assertEquals(0.65, rejected.get("candidate"));
        assertEquals(0.70, rejected.get("current"));
        assertEquals("v0002", rejected.get("currentVersion"));
        assertEquals(DATA, rejected.get("evaluation"));
        assertEquals("recorded at its promotion, on the same data", rejected.get("currentSource"));
        String reason = String.valueOf(rejected.get("reason"));
        assertTrue(reason.contains("; measured on file:/held-out.jsonl (all records, 40 records)"), reason);
        Map<?, ?> recorded = (Map<?, ?>) registry().version("v0002").orElseThrow().info().get("evaluation");
        assertEquals(DATA, recorded.get("data"));
        assertEquals(Map.of("f1", 0.70), recorded.get("metrics"));
        assertEquals("day2", registry().version("v0002").orElseThrow().runId());
        assertEquals("ckpt-day2", registry().version("v0002").orElseThrow().info().get("checkpoint"));
    }

    @Test
    void aRerunAfterAKillInAnyWindowOfPromoteFinishesItOnce() throws IOException {
        ready("day1", 0.60);
        promote("day1", 0);
        ready("day2", 0.70);
        promote("day2", 0);
        java.nio.file.Path log = dir.resolve("root/models/spam/promotions.jsonl");
        String fullLog = Files.readString(log);
        String day1Only = fullLog.lines().filter(l -> l.contains("\"day1\"")).findFirst().orElseThrow() + "\n";

        // Killed after the version was copied, before CURRENT was replaced and the decision logged.
        registry().setCurrent("v0001");
        Files.writeString(log, day1Only);
        state("day2").record("promote", PipelineState.STARTED, Map.of());
        Files.writeString(dir.resolve("root/runs/finetune/day2/model/model.zip"), "changed after the copy");
        assertTrue(promote("day2", 0).get("promote").startsWith("promoted as v0002"));
        assertEquals("v0002", registry().current().orElseThrow().name());
        assertEquals(List.of("v0001", "v0002"), registry().versions(), "no second version");
        assertEquals("weights of day2", Files.readString(dir.resolve("root/models/spam/versions/v0002/model/model.zip")),
                "the version is not copied again");
        assertEquals(fullLog.lines().count(), Files.readString(log).lines().count());

        // Killed after CURRENT was replaced, before logging: the recorded decision stands (the candidate is not
        // compared with itself, which would reject it).
        Files.writeString(log, day1Only);
        state("day2").record("promote", PipelineState.STARTED, Map.of());
        promote("day2", 0);
        assertEquals(List.of("day1:promoted", "day2:promoted"), decisions());

        // Killed after logging, before the state said done.
        state("day2").record("promote", PipelineState.STARTED, Map.of());
        assertTrue(promote("day2", 0).get("promote").endsWith("(already in promotions.jsonl)"));
        assertEquals(List.of("day1:promoted", "day2:promoted"), decisions());
        assertEquals("v0002", registry().current().orElseThrow().name());

        // Done: a rerun of the step does nothing.
        assertTrue(promote("day2", 0).get("promote").startsWith("skipped: done before"));
    }
}

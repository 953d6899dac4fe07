package dev.anneal.core.pipeline;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** state.json: intents and results of steps survive a reload; the file is replaced whole, no temporaries left. */
class PipelineStateTest {
    @TempDir
    java.nio.file.Path dir;

    private final Configuration conf = new Configuration();

    private PipelineState load(String runId) {
        return PipelineState.load(new Path(dir.toUri()), runId, conf);
    }

    @Test
    void stepsRecordIntentThenResultAndSurviveAReload() throws IOException {
        PipelineState s = load("2026-11-30");
        assertTrue(s.step("pretrain").isEmpty());
        assertFalse(Files.exists(dir.resolve("2026-11-30/state.json")), "nothing written before a step starts");
        s.record("pretrain", PipelineState.STARTED, Map.of("targetStep", 40L));
        PipelineState again = load("2026-11-30");
        assertEquals(40, ((Number) again.step("pretrain").get("targetStep")).intValue());
        assertFalse(again.done("pretrain"));
        again.record("pretrain", PipelineState.DONE, Map.of("checkpoint", "step-40"));
        PipelineState third = load("2026-11-30");
        assertTrue(third.done("pretrain"));
        assertEquals(40, ((Number) third.step("pretrain").get("targetStep")).intValue(), "the intent stays");
        assertFalse(third.complete());
        third.markComplete();
        assertTrue(load("2026-11-30").complete());
        try (var files = Files.list(dir.resolve("2026-11-30"))) {
            assertEquals(1, files.count(), "only state.json: no temporaries");
        }
    }

    @Test
    void aStateFileOfAnotherRunIsRefused() throws IOException {
        load("day1").record("ingest", PipelineState.STARTED, Map.of());
        Files.createDirectories(dir.resolve("day2"));
        Files.copy(dir.resolve("day1/state.json"), dir.resolve("day2/state.json"));
        InputException e = assertThrows(InputException.class, () -> load("day2"));
        assertTrue(e.getMessage().contains("day2/state.json"), e.getMessage());
    }
}

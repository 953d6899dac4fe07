package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** metrics.jsonl as a scheduler reads it: each event on disk as it happens, a failed attempt marked, reruns appended. */
class RunLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void eventsAreOnDiskAtOnceAndAnUnfinishedRunEndsAsFailedThenARerunAppends() throws IOException {
        Path file = dir.resolve(RunLog.FILE);
        try (RunLog log = RunLog.open(dir.toString(), "pretrain", new Configuration(), 0)) {
            log.start(Map.of("seed", 1), Map.of("input", "corpus"), 1, 3);
            log.checkpoint("step-10", 10, 1);
            List<JsonNode> soFar = read(file);
            assertEquals(List.of("start", "checkpoint"), names(soFar), "written before close");
            assertEquals("corpus", soFar.get(0).path("data").path("input").asText());
        }
        List<JsonNode> first = read(file);
        assertEquals(List.of("start", "checkpoint", "end"), names(first));
        assertEquals("failed", first.get(2).path("status").asText(), "closed without finish");

        try (RunLog log = RunLog.open(dir.toString(), "pretrain", new Configuration(), 0)) {
            log.start(Map.of("seed", 1), Map.of(), 2, 3);
            log.finish(RunLog.figures("checkpoint", "step-30", "loss", Double.NaN));
        }
        List<JsonNode> both = read(file);
        assertEquals(List.of("start", "checkpoint", "end", "start", "end"), names(both));
        assertEquals("done", both.get(4).path("status").asText());
        assertEquals(2, both.get(3).path("firstEpoch").asInt());
        assertFalse(Files.exists(dir.resolve("." + RunLog.FILE + ".crc")), "no checksum side file on a local disk");
    }

    private static List<String> names(List<JsonNode> events) {
        return events.stream().map(e -> e.path("event").asText()).toList();
    }

    private static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }
}

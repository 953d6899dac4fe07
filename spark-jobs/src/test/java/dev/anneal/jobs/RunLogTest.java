package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.jobs.engine.GpuBinding;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingProgress;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
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

    @Test
    void progressLinesFollowTheEpochsAndStopAfterTheLast() throws Exception {
        Path file = dir.resolve(RunLog.FILE);
        try (RunLog log = RunLog.open(dir.toString(), "finetune", new Configuration(), 1);
             Counting engine = new Counting()) {
            log.start(Map.of(), Map.of(), 1, 2);
            log.watch(engine, 1, 0, 10);
            engine.minibatches = 4;
            Thread.sleep(1_600);
            log.epochEnded(1, Map.of());
            engine.minibatches = 10;
            log.epochEnded(2, Map.of());
            Thread.sleep(2_300);
            log.finish(Map.of());
        }
        List<JsonNode> events = read(file);
        List<JsonNode> progress = events.stream().filter(e -> e.path("event").asText().equals("progress")).toList();
        assertFalse(progress.isEmpty(), "a progress line within epoch 1: " + names(events));
        assertEquals(List.of(1), progress.stream().map(e -> e.path("epoch").asInt()).distinct().toList(),
                "no progress line names an epoch after the last: " + progress);
        assertEquals(4, progress.get(0).path("minibatches").asInt());
    }

    /** A TrainingEngine of which the run log reads only the progress counters; it trains nothing. */
    private static final class Counting implements TrainingEngine {
        volatile long minibatches;

        @Override
        public TrainingProgress progress() {
            return new TrainingProgress(minibatches, minibatches * 8, 0.5 * minibatches);
        }

        @Override
        public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ComputationGraph fitPass(JavaRDD<DataSet> dealt) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<GpuBinding.Binding> deviceBindings() {
            return List.of();
        }

        @Override
        public Traffic lastTraffic() {
            return null;
        }

        @Override
        public int workers() {
            return 1;
        }

        @Override
        public ComputationGraph network() {
            throw new UnsupportedOperationException();
        }

        @Override
        public String name() {
            return "counting";
        }

        @Override
        public void close() {
        }
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

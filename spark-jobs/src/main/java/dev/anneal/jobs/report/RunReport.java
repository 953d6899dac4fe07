package dev.anneal.jobs.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * What a run directory says about its run, gathered for {@code report.html}: the events of {@code metrics.jsonl},
 * the job's {@code metrics.json}, the checkpoints' manifests ({@code checkpoints/step-<n>/}, or {@code model/} of a
 * fine-tuning) and the data manifest of the input when it has one. Only the driver reads these small files; nothing
 * needs Spark.
 */
public final class RunReport {
    public static final String FILE = "report.html";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private RunReport() {
    }

    /**
     * The report at the end of a job: written and logged; a report that cannot be written is a warning, never the
     * job's failure.
     */
    public static void afterJob(String runDir, Configuration conf) {
        try {
            org.slf4j.LoggerFactory.getLogger(RunReport.class).info("report: {}", write(runDir, conf));
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RunReport.class).warn("no report for {}: {}", runDir, e.toString());
        }
    }

    /** Reads {@code runDir} and writes {@code runDir/report.html}; returns its path. */
    public static Path write(String runDir, Configuration conf) {
        Path dir = new Path(runDir);
        try {
            FileSystem fs = dir.getFileSystem(conf);
            if (!fs.exists(dir) || !fs.getFileStatus(dir).isDirectory()) {
                throw new InputException("run directory " + runDir + " does not exist");
            }
            ObjectNode data = gather(fs, dir);
            if (data.path("events").isEmpty() && data.path("metrics").isMissingNode()
                    && data.path("checkpoints").isEmpty()) {
                throw new InputException(runDir + " holds no metrics.jsonl, metrics.json or checkpoints: "
                        + "not an Anneal run directory");
            }
            Path out = new Path(dir, FILE);
            Path temp = new Path(dir, "." + FILE + ".tmp");
            try (var stream = fs.create(temp, true)) {
                stream.write(ReportPage.html(data).getBytes(StandardCharsets.UTF_8));
            }
            fs.delete(out, false);
            if (!fs.rename(temp, out)) {
                throw new IOException("cannot rename " + temp + " to " + out);
            }
            return out;
        } catch (IOException e) {
            throw new InputException("cannot write the report of " + runDir + ": " + e.getMessage(), e);
        }
    }

    /** The report's data as one JSON object (embedded in the page, where its script draws the charts). */
    static ObjectNode gather(FileSystem fs, Path dir) throws IOException {
        ObjectNode data = NODES.objectNode();
        data.put("runDir", dir.toString());
        ArrayNode events = data.putArray("events");
        Path jsonl = new Path(dir, "metrics.jsonl");
        if (fs.exists(jsonl)) {
            int lineNo = 0;
            for (String line : read(fs, jsonl).split("\n")) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    events.add(JSON.readTree(line));
                } catch (IOException e) {
                    // A line cut short by a kill is the last one; anything else is damage worth naming.
                    data.withArray("warnings").add(jsonl + " line " + lineNo + " is not JSON: "
                            + e.getMessage().lines().findFirst().orElse(""));
                }
            }
        }
        Path metrics = new Path(dir, "metrics.json");
        if (fs.exists(metrics)) {
            data.set("metrics", JSON.readTree(read(fs, metrics)));
        }
        ArrayNode checkpoints = data.putArray("checkpoints");
        Path checkpointDir = new Path(dir, "checkpoints");
        String latest = null;
        if (fs.exists(checkpointDir)) {
            Path latestFile = new Path(checkpointDir, "LATEST");
            latest = fs.exists(latestFile) ? read(fs, latestFile).trim() : null;
            FileStatus[] steps = fs.listStatus(checkpointDir, p -> p.getName().startsWith("step-"));
            Arrays.sort(steps, Comparator.comparingLong(s -> stepOf(s.getPath().getName())));
            for (FileStatus s : steps) {
                addCheckpoint(fs, s.getPath(), checkpoints, s.getPath().getName().equals(latest));
            }
        }
        Path model = new Path(dir, "model");
        if (fs.exists(new Path(model, "manifest.json"))) {
            addCheckpoint(fs, model, checkpoints, false);
        }
        if (latest != null) {
            data.put("latest", latest);
        }
        JsonNode start = firstEvent(events, "start");
        String job = start != null ? start.path("job").asText() : data.path("metrics").has("test") ? "finetune"
                : "pretrain";
        data.put("job", job);
        String input = start != null ? start.path("config").path("input").asText("") : "";
        if (!input.isEmpty()) {
            data.set("inputManifest", inputManifest(fs.getConf(), input));
        }
        return data;
    }

    private static void addCheckpoint(FileSystem fs, Path checkpoint, ArrayNode into, boolean latest)
            throws IOException {
        ObjectNode c = into.addObject();
        c.put("name", checkpoint.getName());
        c.put("path", checkpoint.toString());
        c.put("latest", latest);
        Path manifest = new Path(checkpoint, "manifest.json");
        if (!fs.exists(manifest)) {
            c.put("problem", "no manifest.json");
            return;
        }
        JsonNode m = JSON.readTree(read(fs, manifest));
        c.set("step", m.path("step"));
        c.set("epoch", m.path("epoch"));
        c.set("createdAt", m.path("createdAt"));
        c.set("metrics", m.path("metrics"));
        long bytes = 0;
        for (JsonNode f : m.path("files")) {
            bytes += f.path("bytes").asLong();
        }
        c.put("bytes", bytes);
    }

    /** The top-level figures of {@code <input>/manifest.json} (what {@code anneal ingest} writes), if any. */
    private static JsonNode inputManifest(Configuration conf, String input) {
        try {
            Path manifest = new Path(input, "manifest.json");
            FileSystem fs = manifest.getFileSystem(conf);
            if (!fs.exists(manifest)) {
                return NODES.nullNode();
            }
            JsonNode m = JSON.readTree(read(fs, manifest));
            ObjectNode summary = NODES.objectNode();
            summary.put("path", manifest.toString());
            m.fields().forEachRemaining(f -> {
                if (f.getValue().isValueNode()) {
                    summary.set(f.getKey(), f.getValue());
                }
            });
            return summary;
        } catch (IOException | IllegalArgumentException e) {
            return NODES.textNode("cannot read the input's manifest: " + e.getMessage());
        }
    }

    static JsonNode firstEvent(JsonNode events, String name) {
        for (JsonNode e : events) {
            if (name.equals(e.path("event").asText())) {
                return e;
            }
        }
        return null;
    }

    static List<JsonNode> eventsNamed(JsonNode events, String name) {
        List<JsonNode> out = new ArrayList<>();
        events.forEach(e -> {
            if (name.equals(e.path("event").asText())) {
                out.add(e);
            }
        });
        return out;
    }

    private static long stepOf(String name) {
        try {
            return Long.parseLong(name.substring("step-".length()));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private static String read(FileSystem fs, Path p) throws IOException {
        try (InputStream in = fs.open(p)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

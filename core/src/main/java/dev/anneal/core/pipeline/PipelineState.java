package dev.anneal.core.pipeline;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code pipeline/<runId>/state.json}: which steps of one pipeline run have started and finished and what each
 * produced. A step records what it is about to do (its intent: the slice index, the target step) before its effect,
 * and its result after, so a rerun can tell "not begun", "begun, maybe with effect" and "done" apart. The file is
 * replaced atomically after every change.
 */
public final class PipelineState {
    public static final String FILE = "state.json";
    public static final String STARTED = "started";
    public static final String DONE = "done";

    private final Path file;
    private final Configuration conf;
    private final Map<String, Object> root;

    private PipelineState(Path file, Configuration conf, Map<String, Object> root) {
        this.file = file;
        this.conf = conf;
        this.root = root;
    }

    /** The state of {@code runId} under {@code pipelineDir} ({@code <root>/pipeline}), new when none was written. */
    public static PipelineState load(Path pipelineDir, String runId, Configuration conf) {
        Path file = new Path(new Path(pipelineDir, runId), FILE);
        Map<String, Object> root = PipelineFiles.readJsonOrNull(file, conf);
        if (root == null) {
            root = new LinkedHashMap<>();
            root.put("runId", runId);
            root.put("status", "new");
            root.put("steps", new LinkedHashMap<String, Object>());
        } else if (!runId.equals(root.get("runId")) || !(root.get("steps") instanceof Map)) {
            throw new dev.anneal.core.InputException(file + ": not the state of pipeline run " + runId);
        }
        return new PipelineState(file, conf, root);
    }

    public Path file() {
        return file;
    }

    public boolean complete() {
        return "complete".equals(root.get("status"));
    }

    public String finishedAt() {
        return String.valueOf(root.get("finishedAt"));
    }

    /** The recorded fields of {@code step}, empty when it has not started. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> step(String step) {
        Object s = steps().get(step);
        return s == null ? Map.of() : Collections.unmodifiableMap((Map<String, Object>) s);
    }

    public boolean done(String step) {
        return DONE.equals(step(step).get("status"));
    }

    /** Records {@code fields} for {@code step} (merged into what it had) with the given status, and saves. */
    public void record(String step, String status, Map<String, Object> fields) {
        Map<String, Object> s = new LinkedHashMap<>(step(step));
        s.putAll(fields);
        s.put("status", status);
        s.put(status.equals(DONE) ? "finishedAt" : "startedAt", Instant.now().toString());
        steps().put(step, s);
        if ("new".equals(root.get("status"))) {
            root.put("status", "running");
            root.put("startedAt", Instant.now().toString());
        }
        save();
    }

    /** Marks the run complete, and saves. */
    public void markComplete() {
        root.put("status", "complete");
        root.put("finishedAt", Instant.now().toString());
        save();
    }

    /** The whole state, as written. */
    public Map<String, Object> toMap() {
        return Collections.unmodifiableMap(root);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> steps() {
        return (Map<String, Object>) root.get("steps");
    }

    private void save() {
        PipelineFiles.replace(file, PipelineFiles.toJson(root), conf);
    }
}

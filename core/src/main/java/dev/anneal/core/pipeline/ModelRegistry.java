package dev.anneal.core.pipeline;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code models/<name>/}: the promoted models of one name. {@code versions/v0001/} holds a model as it was promoted
 * ({@code model/}, {@code metrics.json}, and {@code version.json}: which runId and checkpoint made it, the metric);
 * {@code CURRENT} names the version in service and is replaced atomically; {@code promotions.jsonl} logs every
 * decision, rejections too, one line per runId. Each operation can be repeated after a kill without doing its effect
 * twice.
 */
public final class ModelRegistry {
    public static final String VERSIONS = "versions";
    public static final String CURRENT = "CURRENT";
    public static final String LOG = "promotions.jsonl";
    public static final String VERSION_FILE = "version.json";

    private final Path dir;
    private final Configuration conf;

    public ModelRegistry(Path dir, Configuration conf) {
        this.dir = dir;
        this.conf = conf;
    }

    public Path dir() {
        return dir;
    }

    /** A promoted model's record, as {@code version.json} holds it. */
    public record Version(String name, Path dir, Map<String, Object> info) {
        public String runId() {
            return String.valueOf(info.get("runId"));
        }

        /** The value of {@code metric} recorded at promotion. */
        public double metric(String metric) {
            @SuppressWarnings("unchecked")
            Map<String, Object> test = (Map<String, Object>) info.get("test");
            Object v = test == null ? null : test.get(metric);
            if (!(v instanceof Number n)) {
                throw new InputException(new Path(dir, VERSION_FILE) + ": no test." + metric + " recorded");
            }
            return n.doubleValue();
        }
    }

    /** The version {@code CURRENT} names, if any. */
    public Optional<Version> current() {
        byte[] bytes = PipelineFiles.readOrNull(new Path(dir, CURRENT), conf);
        if (bytes == null) {
            return Optional.empty();
        }
        String name = new String(bytes, StandardCharsets.UTF_8).trim();
        if (!name.matches("v[0-9]{4,}")) {
            throw new InputException(new Path(dir, CURRENT) + ": expected a version like v0001, got '" + name + "'");
        }
        return Optional.of(version(name).orElseThrow(() -> new InputException(new Path(dir, CURRENT)
                + " names " + name + ", which has no " + new Path(new Path(new Path(dir, VERSIONS), name),
                VERSION_FILE))));
    }

    /** The version of that name, if it exists complete. */
    public Optional<Version> version(String name) {
        Path vdir = new Path(new Path(dir, VERSIONS), name);
        Map<String, Object> info = PipelineFiles.readJsonOrNull(new Path(vdir, VERSION_FILE), conf);
        return info == null ? Optional.empty() : Optional.of(new Version(name, vdir, info));
    }

    /** Names of the complete versions, oldest first. */
    public List<String> versions() {
        Path vdir = new Path(dir, VERSIONS);
        try {
            FileSystem fs = vdir.getFileSystem(conf);
            if (!fs.exists(vdir)) {
                return List.of();
            }
            FileStatus[] all = fs.listStatus(vdir, p -> p.getName().matches("v[0-9]{4,}"));
            return Arrays.stream(all).map(s -> s.getPath().getName()).sorted().toList();
        } catch (IOException e) {
            throw new InputException("cannot list " + vdir + ": " + e.getMessage(), e);
        }
    }

    /** The name the next version gets: one more than the highest. */
    public String nextVersion() {
        List<String> all = versions();
        int last = all.isEmpty() ? 0 : Integer.parseInt(all.get(all.size() - 1).substring(1));
        return String.format("v%04d", last + 1);
    }

    /**
     * Adds version {@code name}: copies {@code model} (a directory) and {@code metrics} into a temporary directory,
     * writes {@code version.json} last and renames the directory into place. When the version exists already and
     * was made by the same runId, returns it as it is (a rerun); one made by another runId is an error.
     */
    public Version addVersion(String name, Path model, Path metrics, Map<String, Object> info) {
        String runId = String.valueOf(info.get("runId"));
        Optional<Version> existing = version(name);
        if (existing.isPresent()) {
            if (!existing.get().runId().equals(runId)) {
                throw new InputException(existing.get().dir() + " was made by run " + existing.get().runId()
                        + ", not " + runId);
            }
            return existing.get();
        }
        Path versions = new Path(dir, VERSIONS);
        Path target = new Path(versions, name);
        Path tmp = new Path(versions, "." + name + ".tmp");
        try {
            FileSystem fs = versions.getFileSystem(conf);
            // What a killed earlier attempt left: a partial copy, never named by CURRENT.
            fs.delete(tmp, true);
            fs.delete(target, true);
            fs.mkdirs(tmp);
            if (!FileUtil.copy(fs, model, fs, new Path(tmp, "model"), false, conf)
                    || !FileUtil.copy(fs, metrics, fs, new Path(tmp, "metrics.json"), false, conf)) {
                throw new IOException("copy of " + model + " into " + tmp + " failed");
            }
            Map<String, Object> recorded = new LinkedHashMap<>(info);
            recorded.put("version", name);
            PipelineFiles.replace(new Path(tmp, VERSION_FILE), PipelineFiles.toJson(recorded), conf);
            if (!fs.rename(tmp, target)) {
                throw new IOException("cannot rename " + tmp + " to " + target);
            }
            return new Version(name, target, recorded);
        } catch (IOException e) {
            throw new InputException("cannot add model version " + target + ": " + e.getMessage(), e);
        }
    }

    /** Points {@code CURRENT} at {@code name}, atomically. */
    public void setCurrent(String name) {
        if (version(name).isEmpty()) {
            throw new IllegalStateException("no complete version " + name + " in " + dir);
        }
        PipelineFiles.replace(new Path(dir, CURRENT), (name + "\n").getBytes(StandardCharsets.UTF_8), conf);
    }

    /** The promotion log's entries, oldest first. */
    public List<Map<String, Object>> promotions() {
        Path log = new Path(dir, LOG);
        byte[] bytes = PipelineFiles.readOrNull(log, conf);
        List<Map<String, Object>> out = new ArrayList<>();
        if (bytes == null) {
            return out;
        }
        int n = 0;
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            n++;
            if (!line.isBlank()) {
                out.add(PipelineFiles.parseObject(line, log + " line " + n));
            }
        }
        return out;
    }

    /** The logged decision of {@code runId}, if there is one. */
    public Optional<Map<String, Object>> promotionOf(String runId) {
        return promotions().stream().filter(e -> runId.equals(e.get("runId"))).findFirst();
    }

    /**
     * Appends {@code entry} to the log unless an entry for its runId is there already; returns whether it appended.
     * The log is rewritten whole and renamed into place (no object store can append, and a kill mid-write must not
     * leave half a line).
     */
    public boolean logPromotion(Map<String, Object> entry) {
        String runId = String.valueOf(entry.get("runId"));
        List<Map<String, Object>> all = promotions();
        if (all.stream().anyMatch(e -> runId.equals(e.get("runId")))) {
            return false;
        }
        StringBuilder sb = new StringBuilder();
        for (Map<String, Object> e : all) {
            sb.append(PipelineFiles.toJsonLine(e)).append('\n');
        }
        sb.append(PipelineFiles.toJsonLine(entry)).append('\n');
        PipelineFiles.replace(new Path(dir, LOG), sb.toString().getBytes(StandardCharsets.UTF_8), conf);
        return true;
    }
}

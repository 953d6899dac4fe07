package dev.anneal.core.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.anneal.core.AnnealVersion;
import dev.anneal.core.io.AtomicFiles;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Writes and reads checkpoints through Hadoop's FileSystem API, so {@code hdfs://}, {@code s3a://} and
 * {@code file://} behave alike.
 *
 * <p>A checkpoint is a directory holding {@code model.zip} (DL4J graph with updater state), {@code vocab.json} and
 * {@code manifest.json} (sha256 and size of every other file, step, epoch, seed, network, config, code version). It
 * is written under a temporary name, read back and verified, then renamed into place, so a reader never sees a
 * partial one. A run directory's {@code checkpoints/LATEST} names its newest checkpoint and is replaced atomically.
 * The loader verifies every file against the manifest before it deserializes anything, refuses files the
 * manifest does not list, refuses model archives with entries Anneal does not write, and lets DL4J read the model
 * only with Java deserialization refused ({@link DeserializationFilter}).
 */
public final class CheckpointStore {
    public static final String MODEL = "model.zip";
    public static final String VOCABULARY = "vocab.json";
    public static final String MANIFEST = "manifest.json";
    public static final String CHECKPOINTS = "checkpoints";
    public static final String LATEST = "LATEST";
    public static final String FORMAT = "anneal-checkpoint";
    public static final int FORMAT_VERSION = 1;
    private static final String TEMPORARY_SUFFIX = AtomicFiles.TEMPORARY_SUFFIX;
    /** Names {@link #temporary} gives: a hidden name, a UUID, {@code .tmp}. */
    private static final Pattern TEMPORARY = Pattern.compile(
            "\\.(step-[0-9]+|" + LATEST + ")\\.[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\\.tmp");
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Configuration hadoopConf;

    public CheckpointStore(Configuration hadoopConf) {
        this.hadoopConf = hadoopConf;
    }

    /**
     * Writes {@code checkpoint} as {@code <runDir>/checkpoints/step-<step>} and points {@code LATEST} at it.
     *
     * <p>A writer killed part-way leaves at most a temporary directory or file (hidden, named {@code .<name>.<uuid>.tmp})
     * and, when killed between the checkpoint's rename and {@code LATEST}'s, a complete checkpoint that {@code LATEST}
     * does not name. This method, run by the next writer of the run, removes the temporaries and replaces such an
     * unpublished checkpoint when it writes the same step again, as a run resumed from {@code LATEST} does. It assumes
     * one writer per run directory, as {@code pretrain} is.
     *
     * @return the checkpoint directory
     * @throws CheckpointException when the step is one {@code LATEST} already names or has passed
     */
    public Path writeStep(Path runDir, Checkpoint checkpoint) {
        Path checkpoints = new Path(runDir, CHECKPOINTS);
        Path dir = new Path(checkpoints, "step-" + checkpoint.info().step());
        Path latest = new Path(checkpoints, LATEST);
        try {
            FileSystem fs = checkpoints.getFileSystem(hadoopConf);
            if (fs.exists(checkpoints)) {
                removeTemporaries(fs, checkpoints);
                if (fs.exists(dir)) {
                    long published = fs.exists(latest) ? stepNamed(fs, latest) : -1;
                    if (checkpoint.info().step() <= published) {
                        throw new CheckpointException("checkpoint " + dir + " already exists and " + latest
                                + " names step " + published + "; refusing to overwrite it");
                    }
                    LOG.warn("replacing {}: {} names step {}, so a writer stopped before publishing it", dir, latest,
                            published);
                    discard(fs, dir);
                }
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot prepare " + checkpoints + " for " + dir.getName() + ": "
                    + e.getMessage(), e);
        }
        write(dir, checkpoint);
        Path tmp = temporary(latest);
        try {
            AtomicFiles.replace(latest, tmp, (dir.getName() + "\n").getBytes(StandardCharsets.UTF_8), hadoopConf);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CheckpointException("cannot update " + latest + ": " + e.getMessage(), e);
        }
        return dir;
    }

    /** The step of the checkpoint a {@code LATEST} file names. */
    private static long stepNamed(FileSystem fs, Path latest) throws IOException {
        String name = new String(CheckpointFiles.readAll(fs, latest, 4096), StandardCharsets.UTF_8).trim();
        if (!name.matches("step-[0-9]+")) {
            throw new CheckpointException(latest + ": expected a checkpoint name like step-120, got '" + name + "'");
        }
        return Long.parseLong(name.substring(5));
    }

    /** A hidden sibling name for writing {@code path}'s content before it is renamed into place. */
    private static Path temporary(Path path) {
        return AtomicFiles.temporarySibling(path);
    }

    /** Removes the temporaries that writers killed part-way left in {@code checkpoints}. */
    private static void removeTemporaries(FileSystem fs, Path checkpoints) throws IOException {
        for (FileStatus st : fs.listStatus(checkpoints)) {
            if (TEMPORARY.matcher(st.getPath().getName()).matches()) {
                LOG.info("removing {}, left by a writer that was stopped part-way", st.getPath());
                fs.delete(st.getPath(), true);
            }
        }
    }

    /**
     * Removes a checkpoint directory so that no reader ever sees it half-deleted: it is renamed to a temporary name
     * first (one atomic step), then deleted; a kill during the deletion leaves a temporary, not a damaged checkpoint.
     */
    private static void discard(FileSystem fs, Path dir) throws IOException {
        Path doomed = temporary(dir);
        if (!fs.rename(dir, doomed)) {
            throw new IOException("cannot rename " + dir + " to " + doomed);
        }
        fs.delete(doomed, true);
    }

    /**
     * Deletes the run's checkpoints that {@code policy} does not keep. Only directories named {@code step-<n>} whose
     * manifest reads are considered; anything else under {@code checkpoints/} is left alone.
     *
     * @return the names of the deleted checkpoints
     */
    public List<String> prune(Path runDir, RetentionPolicy policy) {
        Path checkpoints = new Path(runDir, CHECKPOINTS);
        try {
            FileSystem fs = checkpoints.getFileSystem(hadoopConf);
            String latest = fs.exists(new Path(checkpoints, LATEST))
                    ? new String(CheckpointFiles.readAll(fs, new Path(checkpoints, LATEST), 4096),
                            StandardCharsets.UTF_8).trim() : "";
            List<RetentionPolicy.Entry> entries = new ArrayList<>();
            for (FileStatus st : fs.listStatus(checkpoints)) {
                String name = st.getPath().getName();
                if (!st.isDirectory() || !name.matches("step-[0-9]+")) {
                    continue;
                }
                try {
                    Map<String, Object> m = CheckpointFiles.readManifest(fs, st.getPath());
                    Object position = m.get("cursor") instanceof Map<?, ?> c ? c.get("position") : null;
                    entries.add(new RetentionPolicy.Entry(name, ((Number) m.get("step")).longValue(),
                            ((Number) m.get("epoch")).intValue(),
                            position == null || ((Number) position).longValue() == 0));
                } catch (CheckpointException | ClassCastException e) {
                    LOG.warn("retention leaves {} alone: {}", st.getPath(), e.getMessage());
                }
            }
            List<String> deleted = new ArrayList<>();
            for (RetentionPolicy.Entry e : policy.toDelete(entries, latest)) {
                try {
                    discard(fs, new Path(checkpoints, e.name()));
                    deleted.add(e.name());
                } catch (IOException failed) {
                    // A checkpoint kept too long costs space; a run stopped for it would cost the training.
                    LOG.warn("retention could not remove {}: {}", new Path(checkpoints, e.name()), failed.toString());
                }
            }
            if (!deleted.isEmpty()) {
                LOG.info("retention removed {} from {}", deleted, checkpoints);
            }
            return deleted;
        } catch (IOException e) {
            throw new CheckpointException("cannot apply retention to " + checkpoints + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code checkpoint} to {@code dir}, which must not exist: first under a temporary sibling name, then,
     * once every file reads back with the sha256 it was written with, renamed to {@code dir}.
     */
    public void write(Path dir, Checkpoint checkpoint) {
        long started = System.nanoTime();
        Path tmp = temporary(dir);
        try {
            FileSystem fs = dir.getFileSystem(hadoopConf);
            if (fs.exists(dir)) {
                throw new CheckpointException("checkpoint " + dir + " already exists; refusing to overwrite it");
            }
            fs.mkdirs(tmp);
            Map<String, Map<String, Object>> files = new TreeMap<>();
            files.put(MODEL, writeFile(fs, new Path(tmp, MODEL),
                    out -> ModelSerializer.writeModel(checkpoint.graph(), out, true)));
            byte[] vocab = checkpoint.vocabulary().toJson();
            files.put(VOCABULARY, writeFile(fs, new Path(tmp, VOCABULARY), out -> out.write(vocab)));
            byte[] manifest = JSON.writeValueAsBytes(manifest(checkpoint, files));
            try (FSDataOutputStream out = fs.create(new Path(tmp, MANIFEST), false)) {
                out.write(manifest);
            }
            CheckpointFiles.verify(fs, tmp, CheckpointFiles.readManifest(fs, tmp));
            if (!fs.rename(tmp, dir)) {
                throw new CheckpointException("cannot rename " + tmp + " to " + dir
                        + (fs.exists(dir) ? ": the target appeared meanwhile" : ""));
            }
            long bytes = files.values().stream().mapToLong(f -> ((Number) f.get("bytes")).longValue()).sum();
            LOG.info("checkpoint written: {} ({} bytes, {} ms)", dir, bytes, (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CheckpointException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private Map<String, Object> manifest(Checkpoint cp, Map<String, Map<String, Object>> files) {
        CheckpointInfo info = cp.info();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("formatVersion", FORMAT_VERSION);
        m.put("job", info.job());
        m.put("step", info.step());
        m.put("epoch", info.epoch());
        m.put("seed", info.seed());
        m.put("codeVersion", AnnealVersion.get());
        m.put("createdAt", Instant.now().toString());
        m.put("network", info.network());
        m.put("vocabulary", Map.of("kind", CharVocabulary.KIND, "size", cp.vocabulary().size(),
                "sha256", cp.vocabulary().sha256()));
        m.put("config", info.config());
        m.put("metrics", info.metrics());
        if (!info.cursor().isEmpty()) {
            m.put("cursor", info.cursor());
        }
        m.put("files", files);
        return m;
    }

    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    private static Map<String, Object> writeFile(FileSystem fs, Path path, Body body) throws IOException {
        MessageDigest sha = CheckpointFiles.sha256();
        long bytes;
        try (FSDataOutputStream raw = fs.create(path, false);
             java.security.DigestOutputStream out = new java.security.DigestOutputStream(raw, sha)) {
            body.write(out);
            out.flush();
            bytes = raw.getPos();
        }
        return Map.of("sha256", HexFormat.of().formatHex(sha.digest()), "bytes", bytes);
    }

    /**
     * Resolves {@code location} to a checkpoint directory: itself when it holds a manifest, else the one that a run
     * directory's {@code checkpoints/LATEST} (or a checkpoints directory's {@code LATEST}) names.
     */
    public Path resolve(Path location) {
        try {
            FileSystem fs = location.getFileSystem(hadoopConf);
            if (!fs.exists(location)) {
                throw new CheckpointException("checkpoint not found: " + location);
            }
            if (fs.exists(new Path(location, MANIFEST))) {
                return location;
            }
            for (Path latest : new Path[] {new Path(new Path(location, CHECKPOINTS), LATEST),
                    new Path(location, LATEST)}) {
                if (fs.exists(latest)) {
                    String name = new String(CheckpointFiles.readAll(fs, latest, 4096),
                            StandardCharsets.UTF_8).trim();
                    if (!name.matches("step-[0-9]+")) {
                        throw new CheckpointException(latest + ": expected a checkpoint name like step-120, got '"
                                + name + "'");
                    }
                    return new Path(latest.getParent(), name);
                }
            }
            throw new CheckpointException(location + " is not an Anneal checkpoint: it has neither " + MANIFEST
                    + " nor " + CHECKPOINTS + "/" + LATEST);
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoint " + location + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads the checkpoint at {@code location} (see {@link #resolve}) after verifying every file against its
     * manifest.
     *
     * @param loadUpdater whether to restore the optimizer state too (to continue training as it was)
     */
    public Checkpoint read(Path location, boolean loadUpdater) {
        Path dir = resolve(location);
        try {
            FileSystem fs = dir.getFileSystem(hadoopConf);
            Map<String, Object> manifest = CheckpointFiles.readManifest(fs, dir);
            CheckpointFiles.verify(fs, dir, manifest);
            CharVocabulary vocab = CharVocabulary.fromJson(
                    CheckpointFiles.readAll(fs, new Path(dir, VOCABULARY), 1L << 20),
                    new Path(dir, VOCABULARY).toString());
            Map<String, Object> vocabInfo = CheckpointFiles.map(manifest, "vocabulary", dir);
            if (!vocab.sha256().equals(vocabInfo.get("sha256"))) {
                throw new CheckpointException(new Path(dir, VOCABULARY) + ": vocabulary hash " + vocab.sha256()
                        + " differs from the manifest's " + vocabInfo.get("sha256"));
            }
            ComputationGraph graph = ModelArchive.load(fs, new Path(dir, MODEL), loadUpdater);
            CheckpointInfo info = new CheckpointInfo(String.valueOf(manifest.get("job")),
                    ((Number) manifest.get("step")).longValue(), ((Number) manifest.get("epoch")).intValue(),
                    ((Number) manifest.get("seed")).longValue(), CheckpointFiles.map(manifest, "network", dir),
                    CheckpointFiles.map(manifest, "config", dir), CheckpointFiles.map(manifest, "metrics", dir),
                    manifest.containsKey("cursor") ? CheckpointFiles.map(manifest, "cursor", dir) : Map.of());
            LOG.info("checkpoint loaded: {} (job {}, step {})", dir, info.job(), info.step());
            return new Checkpoint(graph, vocab, info);
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** A checkpoint read by {@link #readNewestValid}, where it was, and the newer ones it had to pass over. */
    public record Fallback(Checkpoint checkpoint, Path dir, List<String> skipped) {
    }

    /**
     * Reads the checkpoint {@code LATEST} names or, when it is damaged, the newest of the run's other checkpoints
     * that verifies. Each one passed over is named in {@link Fallback#skipped()} with the reason. Fails when none
     * verifies, or when {@code runDir} is a single checkpoint that does not.
     */
    public Fallback readNewestValid(Path runDir, boolean loadUpdater) {
        Path checkpoints = new Path(runDir, CHECKPOINTS);
        List<String> skipped = new ArrayList<>();
        try {
            Path first = resolve(runDir);
            try {
                return new Fallback(read(first, loadUpdater), first, skipped);
            } catch (CheckpointException e) {
                FileSystem fs = checkpoints.getFileSystem(hadoopConf);
                if (!fs.exists(checkpoints)) {
                    throw e;
                }
                skipped.add(first.getName() + ": " + e.getMessage());
                List<FileStatus> steps = new ArrayList<>();
                for (FileStatus st : fs.listStatus(checkpoints)) {
                    if (st.isDirectory() && st.getPath().getName().matches("step-[0-9]+")
                            && !st.getPath().getName().equals(first.getName())) {
                        steps.add(st);
                    }
                }
                steps.sort(java.util.Comparator.comparingLong(
                        (FileStatus st) -> Long.parseLong(st.getPath().getName().substring(5))).reversed());
                for (FileStatus st : steps) {
                    try {
                        Checkpoint cp = read(st.getPath(), loadUpdater);
                        LOG.warn("using checkpoint {} instead of the damaged newer one(s): {}", st.getPath(), skipped);
                        return new Fallback(cp, st.getPath(), skipped);
                    } catch (CheckpointException damaged) {
                        skipped.add(st.getPath().getName() + ": " + damaged.getMessage());
                    }
                }
                throw new CheckpointException("no valid checkpoint in " + checkpoints + ": " + String.join("; ", skipped));
            }
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoints of " + runDir + ": " + e.getMessage(), e);
        }
    }

    /** The parsed manifest of the checkpoint directory {@code dir}, checked for format and version. */
    public Map<String, Object> manifest(Path location) {
        Path dir = resolve(location);
        try {
            return CheckpointFiles.readManifest(dir.getFileSystem(hadoopConf), dir);
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + new Path(dir, MANIFEST) + ": " + e.getMessage(), e);
        }
    }

    private void deleteQuietly(Path p) {
        try {
            p.getFileSystem(hadoopConf).delete(p, true);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove temporary checkpoint {}: {}", p, e.toString());
        }
    }
}

package dev.anneal.core.pipeline;

import dev.anneal.core.AnnealException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@code pipeline.lock}: at most one pipeline run works on a pipeline directory at a time. The lock file is created
 * only if absent (HDFS: {@code FileSystem.create} with overwrite=false; local: an exclusive hard link of a complete
 * file) and holds the holder's host, pid, runId, start time and a token. The holder refreshes its modification time
 * every quarter of {@code staleMinutes}. A lock is stale when its holder's process is gone on this host, or when it
 * was not refreshed for {@code staleMinutes}; a stale lock is logged, moved aside and taken over.
 */
public final class PipelineLock implements AutoCloseable {
    public static final String FILE = "pipeline.lock";
    private static final Logger LOG = LoggerFactory.getLogger(PipelineLock.class);

    /** Another live run holds the lock (exit code 1: retrying later can succeed; nothing is wrong with the config). */
    public static final class HeldException extends AnnealException {
        HeldException(String message) {
            super(1, message);
        }
    }

    /** Who holds, or held, a lock. */
    public record Holder(String host, long pid, String runId, String startedAt, String token) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("host", host);
            m.put("pid", pid);
            m.put("runId", runId);
            m.put("startedAt", startedAt);
            m.put("token", token);
            return m;
        }

        static Holder of(Map<String, Object> m) {
            return new Holder(String.valueOf(m.get("host")), ((Number) m.get("pid")).longValue(),
                    String.valueOf(m.get("runId")), String.valueOf(m.get("startedAt")), String.valueOf(m.get("token")));
        }

        @Override
        public String toString() {
            return "run " + runId + " (host " + host + ", pid " + pid + ", started " + startedAt + ")";
        }
    }

    /** A stale lock that was taken over, and why it was stale. */
    public record Takeover(Holder previous, String reason) {
    }

    private final Path file;
    private final Configuration conf;
    private final Holder holder;
    private final Takeover takeover;
    private final ScheduledExecutorService heartbeat;

    private PipelineLock(Path file, Configuration conf, Holder holder, Takeover takeover, double staleMinutes) {
        this.file = file;
        this.conf = conf;
        this.holder = holder;
        this.takeover = takeover;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pipeline-lock-heartbeat");
            t.setDaemon(true);
            return t;
        });
        long periodMs = Math.max(1000, (long) (staleMinutes * 60_000 / 4));
        heartbeat.scheduleAtFixedRate(this::refresh, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Takes the lock {@code <root>/pipeline.lock} for {@code runId}.
     *
     * @throws HeldException when a live run holds it
     */
    public static PipelineLock acquire(Path root, String runId, double staleMinutes, Configuration conf) {
        Path file = new Path(root, FILE);
        Holder me = new Holder(hostName(), ProcessHandle.current().pid(), runId, Instant.now().toString(),
                UUID.randomUUID().toString());
        try {
            FileSystem fs = file.getFileSystem(conf);
            fs.mkdirs(root);
            if (create(fs, file, me)) {
                return new PipelineLock(file, conf, me, null, staleMinutes);
            }
            FileStatus status;
            try {
                status = fs.getFileStatus(file);
            } catch (java.io.FileNotFoundException released) {
                if (create(fs, file, me)) {
                    return new PipelineLock(file, conf, me, null, staleMinutes);
                }
                throw new HeldException(file + " was taken by another run just now; try again later");
            }
            byte[] bytes = PipelineFiles.readOrNull(file, conf);
            Holder other = parse(bytes);
            double idleMinutes = (System.currentTimeMillis() - status.getModificationTime()) / 60_000.0;
            String stale = staleness(other, idleMinutes, staleMinutes);
            if (stale == null) {
                throw new HeldException("pipeline " + root + " is locked by " + (other == null
                        ? "an unknown holder (" + file + " is unreadable)" : other.toString())
                        + "; lock file " + file + (other == null ? "" : ", refreshed "
                        + String.format("%.1f", idleMinutes) + " min ago"));
            }
            LOG.warn("stale pipeline lock {} of {}: {}; taking it over", file,
                    other == null ? "an unknown holder" : other, stale);
            Path aside = new Path(root, FILE + ".stale-" + UUID.randomUUID());
            if (!fs.rename(file, aside)) {
                throw new HeldException(file + " changed while its stale holder was being replaced; try again");
            }
            Holder moved = parse(PipelineFiles.readOrNull(aside, conf));
            if (other != null && (moved == null || !moved.token().equals(other.token()))) {
                // Another run replaced the stale lock between our read and our move: give its lock back.
                create(fs, file, moved);
                fs.delete(aside, false);
                throw new HeldException("pipeline " + root + " was just locked by " + moved + "; try again later");
            }
            fs.delete(aside, false);
            if (!create(fs, file, me)) {
                throw new HeldException("pipeline " + root + " was locked by another run while a stale lock was "
                        + "taken over: " + parse(PipelineFiles.readOrNull(file, conf)));
            }
            return new PipelineLock(file, conf, me, new Takeover(other, stale), staleMinutes);
        } catch (IOException e) {
            throw new dev.anneal.core.InputException("cannot create " + file + ": " + e.getMessage(), e);
        }
    }

    /** Why a lock held by {@code other} is stale, or null when it is live. */
    static String staleness(Holder other, double idleMinutes, double staleMinutes) {
        if (other != null && other.host().equals(hostName())) {
            boolean alive = ProcessHandle.of(other.pid()).map(ProcessHandle::isAlive).orElse(false);
            if (!alive) {
                return "its process " + other.pid() + " on this host is gone";
            }
        }
        if (idleMinutes > staleMinutes) {
            return String.format("not refreshed for %.1f min (lock.staleMinutes %s)", idleMinutes,
                    staleMinutes);
        }
        return null;
    }

    /** Creates {@code file} holding {@code holder} unless it exists; returns whether it did. */
    private static boolean create(FileSystem fs, Path file, Holder holder) throws IOException {
        byte[] content = PipelineFiles.toJson(holder.toMap());
        if ("file".equals(fs.getScheme())) {
            // The local FileSystem's create(overwrite=false) checks, then creates: not atomic. A link is.
            FileSystem raw = fs instanceof ChecksumFileSystem c ? c.getRawFileSystem() : fs;
            java.nio.file.Path target = Paths.get(raw.makeQualified(file).toUri());
            java.nio.file.Path tmp = target.resolveSibling("." + file.getName() + "." + holder.token() + ".tmp");
            Files.write(tmp, content);
            try {
                Files.createLink(target, tmp);
                return true;
            } catch (FileAlreadyExistsException e) {
                return false;
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        try (FSDataOutputStream out = fs.create(file, false)) {
            out.write(content);
            return true;
        } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
            return false;
        }
    }

    private static Holder parse(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            return null;
        }
        try {
            return Holder.of(PipelineFiles.parseObject(new String(bytes, StandardCharsets.UTF_8), FILE));
        } catch (RuntimeException e) {
            return null;
        }
    }

    static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "unknown" : env;
        }
    }

    public Holder holder() {
        return holder;
    }

    /** The stale lock this run took over, or null. */
    public Takeover takeover() {
        return takeover;
    }

    private void refresh() {
        try {
            file.getFileSystem(conf).setTimes(file, System.currentTimeMillis(), -1);
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot refresh {}: {}", file, e.toString());
        }
    }

    /** Stops refreshing and removes the lock, if it is still this run's. */
    @Override
    public void close() {
        if (heartbeat.isShutdown()) {
            return;
        }
        heartbeat.shutdownNow();
        try {
            Holder now = parse(PipelineFiles.readOrNull(file, conf));
            if (now != null && now.token().equals(holder.token())) {
                file.getFileSystem(conf).delete(file, false);
            } else {
                LOG.warn("{} is no longer this run's lock (now {}); left as it is", file, now);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot remove {}: {}", file, e.toString());
        }
    }
}

package dev.anneal.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.InputException;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingProgress;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A run's progress, for people and programs: one log line per epoch and one every {@code progress.intervalSeconds}
 * within an epoch (loss, samples/s, elapsed, ETA), and the same as events in {@code <run>/metrics.jsonl}, one JSON
 * object per line, appended and flushed as each happens. A continued run appends to the file; a run that ends
 * without {@link #finish} (an error, a kill short of SIGKILL) leaves an {@code end} event with status
 * {@code failed}. Events: {@code start}, {@code progress}, {@code epoch}, {@code checkpoint}, {@code end}; the
 * format is in docs/OPERATIONS.md.
 */
public final class RunLog implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final Logger LOG = LoggerFactory.getLogger(RunLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String job;
    private final Path file;
    private final FSDataOutputStream out;
    private final int intervalSeconds;
    private final long started = System.nanoTime();
    private ScheduledExecutorService ticker;
    private Watch watch;
    private int lastEpoch;
    private int epochsDone;
    private double epochSecondsSum;
    private boolean finished;
    private double lossScale = 1;

    private RunLog(String job, Path file, FSDataOutputStream out, int intervalSeconds) {
        this.job = job;
        this.file = file;
        this.out = out;
        this.intervalSeconds = intervalSeconds;
    }

    /**
     * What is being watched: the engine, the epoch in progress, how far into it this invocation started (a resumed
     * epoch), and the engine's counters and the clock when that epoch (or this invocation's share of it) began.
     */
    private record Watch(TrainingEngine engine, long minibatchesPerEpoch, int epoch, long position,
                         TrainingProgress baseline, long startedNanos) {
    }

    /** Opens (or, for a continued run, appends to) {@code <runDir>/metrics.jsonl}. */
    public static RunLog open(String runDir, String job, Configuration conf, int intervalSeconds) {
        Path file = new Path(runDir, FILE);
        try {
            FileSystem fs = file.getFileSystem(conf);
            if ("file".equals(fs.getScheme())) {
                // The raw local filesystem appends in place, without Hadoop's .crc side files.
                fs = FileSystem.getLocal(conf).getRaw();
                file = fs.makeQualified(file);
            }
            fs.mkdirs(file.getParent());
            FSDataOutputStream stream;
            if (!fs.exists(file)) {
                stream = fs.create(file, false);
            } else if (fs instanceof org.apache.hadoop.fs.RawLocalFileSystem) {
                stream = fs.append(file);
            } else {
                // Elsewhere the earlier attempts' events are written again and the new ones follow: object stores
                // cannot append, and HDFS appends to a file with fewer datanodes than its replication fail.
                byte[] before;
                try (var in = fs.open(file)) {
                    before = in.readAllBytes();
                }
                stream = fs.create(file, true);
                stream.write(before);
            }
            return new RunLog(job, file, stream, intervalSeconds);
        } catch (IOException e) {
            throw new InputException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    /** Figures in the order given, for {@link #epochEnded} and {@link #finish}. */
    public static Map<String, Object> figures(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    public Path file() {
        return file;
    }

    /**
     * Multiplies the training loss the workers report before it is logged: DL4J scores a recurrent output layer
     * summed over time steps, so a language model's job passes 1 / window length to log nats per character, the
     * unit of its validation loss (exact for full windows; the last, shorter window of a text counts as full).
     */
    public synchronized void scaleTrainLoss(double scale) {
        this.lossScale = scale;
    }

    /** The run starts: its config, what it reads, and the epochs it will train. */
    public synchronized void start(Map<String, Object> config, Map<String, Object> data, int firstEpoch,
                                   int lastEpoch) {
        this.lastEpoch = lastEpoch;
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("firstEpoch", firstEpoch);
        e.put("lastEpoch", lastEpoch);
        e.put("data", data);
        e.put("config", config);
        event("start", e);
    }

    /**
     * Training starts at minibatch {@code position} of {@code epoch}: from now on a progress line is written every
     * interval from the engine's counters, until {@link #finish} or {@link #close}. Each {@link #epochEnded} moves
     * the watch on to the next epoch.
     */
    public synchronized void watch(TrainingEngine engine, int epoch, long position, long minibatchesPerEpoch) {
        watch = new Watch(engine, minibatchesPerEpoch, epoch, position, engine.progress(), System.nanoTime());
        if (intervalSeconds > 0 && ticker == null) {
            ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "anneal-progress");
                t.setDaemon(true);
                return t;
            });
            // Fixed delay, not rate: a line held up (the driver busy, a long GC) is not followed by a burst of catch-ups.
            ticker.scheduleWithFixedDelay(this::progressLine, intervalSeconds, intervalSeconds, TimeUnit.SECONDS);
        }
    }

    private synchronized void progressLine() {
        Watch w = watch;
        if (w == null) {
            return;
        }
        TrainingProgress sinceStart = w.engine().progress().since(w.baseline());
        double seconds = (System.nanoTime() - w.startedNanos()) / 1e9;
        long done = w.position() + sinceStart.minibatches();
        double share = w.minibatchesPerEpoch() == 0 ? 0
                : Math.min(1.0, sinceStart.minibatches() / (double) w.minibatchesPerEpoch());
        double fraction = w.minibatchesPerEpoch() == 0 ? 0 : Math.min(1.0, done / (double) w.minibatchesPerEpoch());
        double perEpoch = epochSeconds(seconds, share);
        double eta = perEpoch * (1 - fraction) + perEpoch * (lastEpoch - w.epoch());
        double rate = sinceStart.examples() / seconds;
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("epoch", w.epoch());
        e.put("minibatches", done);
        e.put("minibatchesInEpoch", w.minibatchesPerEpoch());
        e.put("samples", sinceStart.examples());
        e.put("trainLoss", finite(sinceStart.meanLoss() * lossScale));
        e.put("samplesPerSecond", rate);
        e.put("elapsedSeconds", elapsed());
        e.put("etaSeconds", finite(eta));
        event("progress", e);
        LOG.info("{} epoch {}/{}: {}/{} minibatches ({}%), train loss {}, {} samples/s, elapsed {}, ETA {}", job,
                w.epoch(), lastEpoch, done, w.minibatchesPerEpoch(), String.format("%.0f", 100 * fraction),
                fmt(sinceStart.meanLoss() * lossScale), String.format("%.0f", rate), Reports.duration(elapsed()),
                Double.isFinite(eta) ? Reports.duration(eta) : "unknown");
    }

    /** An epoch's length: the mean of the whole ones so far, else this one's projection from its share done. */
    private double epochSeconds(double soFar, double share) {
        return epochsDone > 0 ? epochSecondsSum / epochsDone : share > 0 ? soFar / share : Double.NaN;
    }

    /**
     * An epoch ended; {@code figures} are the job's own (validation loss, accuracy, step), logged and recorded
     * beside the training loss, the minibatches and samples the workers fitted, samples/s, elapsed and ETA.
     */
    public synchronized void epochEnded(int epoch, Map<String, Object> figures) {
        Watch w = watch;
        TrainingProgress now = w == null ? TrainingProgress.NONE : w.engine().progress();
        TrainingProgress pass = w == null ? TrainingProgress.NONE : now.since(w.baseline());
        double seconds = w == null ? 0 : (System.nanoTime() - w.startedNanos()) / 1e9;
        if (w != null && w.position() == 0) {
            // Only whole epochs inform the ETA; a resumed epoch's share would understate an epoch's length.
            epochsDone++;
            epochSecondsSum += seconds;
        }
        double eta = (epochsDone > 0 ? epochSecondsSum / epochsDone : seconds) * (lastEpoch - epoch);
        double rate = seconds > 0 ? pass.examples() / seconds : 0;
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("epoch", epoch);
        e.put("trainLoss", finite(pass.meanLoss() * lossScale));
        e.putAll(figures);
        e.put("minibatches", pass.minibatches());
        e.put("minibatchesInEpoch", w == null ? 0 : w.minibatchesPerEpoch());
        e.put("samples", pass.examples());
        e.put("samplesPerSecond", rate);
        e.put("epochSeconds", seconds);
        e.put("elapsedSeconds", elapsed());
        e.put("etaSeconds", eta);
        event("epoch", e);
        StringBuilder f = new StringBuilder();
        figures.forEach((k, v) -> f.append(", ").append(k).append(' ')
                .append(v instanceof Double d ? fmt(d) : String.valueOf(v)));
        LOG.info("{} epoch {}/{}: {} minibatches, train loss {}{}, {} samples/s, epoch {}, elapsed {}, ETA {}",
                job, epoch, lastEpoch, pass.minibatches(), fmt(pass.meanLoss() * lossScale), f,
                String.format("%.0f", rate), Reports.duration(seconds), Reports.duration(elapsed()),
                Reports.duration(eta));
        if (w != null) {
            // After the last epoch there is nothing left to watch: no line for an epoch lastEpoch + 1.
            watch = epoch < lastEpoch ? new Watch(w.engine(), w.minibatchesPerEpoch(), epoch + 1, 0, now,
                    System.nanoTime()) : null;
        }
    }

    /**
     * Training is over before its last epoch (early stopping): no more progress lines while the job scores and saves.
     */
    public synchronized void unwatch() {
        watch = null;
    }

    /** A checkpoint was written. */
    public synchronized void checkpoint(String path, long step, int epoch) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("path", path);
        e.put("step", step);
        e.put("epoch", epoch);
        event("checkpoint", e);
    }

    /** The run is done; {@code summary} holds its final figures. */
    public synchronized void finish(Map<String, Object> summary) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("status", "done");
        e.put("seconds", elapsed());
        e.putAll(summary);
        stopTicker();
        event("end", e);
        finished = true;
    }

    @Override
    public synchronized void close() {
        stopTicker();
        try {
            if (!finished) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("status", "failed");
                e.put("seconds", elapsed());
                event("end", e);
            }
        } finally {
            try {
                out.close();
            } catch (IOException e) {
                LOG.warn("closing {}: {}", file, e.toString());
            }
        }
    }

    private void stopTicker() {
        if (ticker != null) {
            ticker.shutdownNow();
            ticker = null;
        }
    }

    private void event(String name, Map<String, Object> fields) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("time", Instant.now().toString());
        e.put("job", job);
        e.put("event", name);
        e.putAll(fields);
        try {
            out.write((JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8));
            out.hflush();
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        } catch (IOException ex) {
            // Losing the progress file must not lose the training run: say so once per event and carry on.
            LOG.warn("cannot write {} event to {}: {}", name, file, ex.toString());
        }
    }

    private double elapsed() {
        return (System.nanoTime() - started) / 1e9;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static String fmt(double v) {
        return Double.isFinite(v) ? String.format("%.4f", v) : "n/a";
    }
}

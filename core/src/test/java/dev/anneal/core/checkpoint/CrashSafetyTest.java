package dev.anneal.core.checkpoint;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A JVM writing checkpoints in a loop ({@link CheckpointWriterMain}) is killed with SIGKILL again and again in the same
 * run directory. After every kill, {@code LATEST} names a complete checkpoint that verifies and loads, every directory
 * under a checkpoint's name is complete, and the fallback reader takes no temporary directory for a checkpoint. Each
 * new writer continues from {@code LATEST} and clears what the killed one left behind.
 *
 * <p>Most of a write is spent writing and reading back files, so kills at random moments land there; the windows
 * between a checkpoint's rename, {@code LATEST}'s replacement and retention last microseconds to milliseconds. So a
 * quarter of the kills is timed at random, and the others are fired when the directory shows a moment's start: a new
 * checkpoint directory appearing (its rename into place), {@code LATEST}'s temporary file appearing, and retention
 * renaming the oldest checkpoint aside to delete it; inotify's latency then spreads them over the narrow windows
 * that follow.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CrashSafetyTest {
    static final int TRIALS = 20;
    /**
     * Timed kills land uniformly in this many milliseconds after the writer starts writing: one to four writes of the
     * demo's model (a writer's first write takes 0.4-0.8 s, later ones 0.1-0.3 s on two cores).
     */
    static final int KILL_WINDOW_MS = 900;
    static final int KEEP_LAST = 3;

    @TempDir
    Path dir;

    private final CheckpointStore store = new CheckpointStore(new Configuration());

    /** A writer JVM, started ahead of its trial so that its start-up overlaps the previous trial. */
    private record Writer(Process process, BlockingQueue<String> lines, Path log) {
    }

    /** When a trial kills its writer. */
    private enum Moment {
        AT_RANDOM, WHEN_A_CHECKPOINT_APPEARS, WHEN_LATEST_IS_BEING_WRITTEN, WHEN_RETENTION_STARTS
    }

    @Test
    void aKilledWriterNeverLeavesLatestPointingAtAnIncompleteCheckpoint() throws Exception {
        Path run = dir.resolve("run");
        Path checkpoints = run.resolve(CheckpointStore.CHECKPOINTS);
        org.apache.hadoop.fs.Path runDir = new org.apache.hadoop.fs.Path(run.toUri());
        Random random = new Random(20240611);
        Map<String, Integer> outcomes = new TreeMap<>();
        long started = System.nanoTime();
        Writer next = start(run, 0);
        // A run that already has checkpoints, as one that has trained for a while: every kill can then break LATEST,
        // the newest checkpoint or retention's deletion of the oldest.
        Checkpoint model = CheckpointWriterMain.demoModel(1);
        for (long step = 1; step <= KEEP_LAST; step++) {
            store.writeStep(runDir, CheckpointWriterMain.withStep(model, step));
        }
        long previousStep = KEEP_LAST;
        for (int trial = 0; trial < TRIALS; trial++) {
            Moment moment = Moment.values()[trial % Moment.values().length];
            Writer writer = next;
            await(writer, "READY");
            try (WatchService watch = FileSystems.getDefault().newWatchService()) {
                checkpoints.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
                writer.process().getOutputStream().write("GO\n".getBytes(StandardCharsets.US_ASCII));
                writer.process().getOutputStream().flush();
                String from = await(writer, "FROM");
                assertEquals(previousStep, Long.parseLong(from.split(" ")[1]),
                        "trial " + trial + ": the writer continues from the step LATEST named after the last kill");
                // The next writer starts now, so that its JVM start-up overlaps this trial; it waits for its GO.
                next = trial + 1 < TRIALS ? start(run, trial + 1) : null;
                long published = previousStep;
                switch (moment) {
                    case AT_RANDOM -> Thread.sleep(random.nextInt(KILL_WINDOW_MS));
                    case WHEN_A_CHECKPOINT_APPEARS -> awaitCreated(watch, "a checkpoint renamed into place",
                            n -> n.matches("step-[0-9]+"), writer);
                    case WHEN_LATEST_IS_BEING_WRITTEN -> awaitCreated(watch, "LATEST's temporary file",
                            n -> n.matches("\\.LATEST\\..*\\.tmp"), writer);
                    // Retention renames the oldest checkpoint aside before deleting it; a write's temporary is
                    // always for a step past the last published one.
                    case WHEN_RETENTION_STARTS -> awaitCreated(watch, "an old checkpoint renamed aside",
                            n -> n.matches("\\.step-[0-9]+\\..*\\.tmp") && step(n.substring(1)) <= published,
                            writer);
                }
                if (!writer.process().isAlive()) {
                    fail("trial " + trial + ": the writer stopped on its own before the kill; its log:\n"
                            + tail(writer.log()));
                }
                writer.process().destroyForcibly();
            }
            assertTrue(writer.process().waitFor(30, TimeUnit.SECONDS));
            String outcome = inspect(run, runDir, trial);
            outcomes.merge(moment.name().toLowerCase().replace('_', ' ') + ": " + outcome, 1, Integer::sum);
            previousStep = ((Number) store.manifest(runDir).get("step")).longValue();
        }

        // The next write clears whatever the kills left behind.
        store.writeStep(runDir, CheckpointWriterMain.withStep(model, previousStep + 1));
        assertEquals(List.of(), temporaries(run), "no temporaries after a write that follows the kills");
        assertEquals(previousStep + 1, store.read(runDir, true).info().step());

        System.out.printf("crash safety: %d SIGKILLs of a checkpoint writer; after each, LATEST named a complete "
                        + "checkpoint that verified and loaded, every step-<n> directory was complete, and the next "
                        + "writer continued from LATEST; kill moment: what it interrupted = %s; %d checkpoints "
                        + "published between the kills; %.1f s%n", TRIALS, outcomes, previousStep - KEEP_LAST,
                (System.nanoTime() - started) / 1e9);
    }

    /**
     * Waits until an entry whose name passes {@code wanted} is created or renamed into place in the watched
     * directory, failing with the writer's log if it stops first.
     */
    private static void awaitCreated(WatchService watch, String what, Predicate<String> wanted, Writer writer)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            WatchKey key = watch.poll(100, TimeUnit.MILLISECONDS);
            if (key == null) {
                if (!writer.process().isAlive()) {
                    fail("the writer stopped on its own (exit " + writer.process().exitValue() + ") before " + what
                            + " appeared; its log:\n" + tail(writer.log()));
                }
                continue;
            }
            for (WatchEvent<?> event : key.pollEvents()) {
                if (event.context() instanceof Path p && wanted.test(p.getFileName().toString())) {
                    return;
                }
            }
            key.reset();
        }
        throw new AssertionError("no " + what + " appeared within 30 s; the writer's log:\n" + tail(writer.log()));
    }

    /**
     * Checks the run directory after a kill and names what the kill interrupted, by what it left behind.
     */
    private String inspect(Path run, org.apache.hadoop.fs.Path runDir, int trial) throws IOException {
        Path checkpoints = run.resolve(CheckpointStore.CHECKPOINTS);
        List<String> steps = visibleSteps(checkpoints);
        List<String> temporaries = temporaries(run);
        String where = "trial " + trial + " (" + list(checkpoints) + "): ";
        assertTrue(Files.exists(checkpoints.resolve(CheckpointStore.LATEST)), where + "LATEST is missing");
        String latest = Files.readString(checkpoints.resolve(CheckpointStore.LATEST)).trim();
        assertTrue(steps.contains(latest), where + "LATEST names '" + latest + "'");
        // LATEST's checkpoint verifies and loads with its updater state: the fallback reader takes it as it is.
        CheckpointStore.Fallback newest = store.readNewestValid(runDir, true);
        assertEquals(latest, newest.dir().getName(), where + "the fallback reader agrees with LATEST");
        assertEquals(List.of(), newest.skipped(), where);
        assertNotNull(newest.checkpoint().graph().getUpdater().getStateViewArray(), where + "updater state");
        for (String step : steps) {
            if (!step.equals(latest)) {
                // A directory under a checkpoint's name is always complete, LATEST's or not.
                Checkpoint cp = store.read(new org.apache.hadoop.fs.Path(checkpoints.resolve(step).toUri()), false);
                assertEquals(step, "step-" + cp.info().step(), where + step);
            }
        }

        long latestStep = step(latest);
        if (temporaries.stream().anyMatch(t -> t.startsWith(".LATEST."))) {
            return "writing LATEST";
        }
        if (steps.stream().anyMatch(s -> step(s) > latestStep)) {
            return "between a checkpoint's rename and LATEST";
        }
        if (temporaries.stream().anyMatch(t -> t.startsWith(".step-") && step(t.substring(1)) > latestStep)) {
            return "writing or verifying a checkpoint's files";
        }
        if (temporaries.stream().anyMatch(t -> t.startsWith(".step-"))) {
            return "retention deleting an old checkpoint";
        }
        if (steps.size() > KEEP_LAST) {
            return "after LATEST, before retention";
        }
        return "between checkpoints";
    }

    /** The step of {@code step-<n>} or of a temporary {@code step-<n>.<uuid>.tmp}. */
    private static long step(String name) {
        return Long.parseLong(name.substring(5).split("\\.")[0]);
    }

    private static List<String> visibleSteps(Path checkpoints) throws IOException {
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-[0-9]+")).sorted().toList();
        }
    }

    private static List<String> temporaries(Path run) throws IOException {
        Path checkpoints = run.resolve("checkpoints");
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".") && !n.endsWith(".crc"))
                    .sorted().toList();
        }
    }

    private static String list(Path checkpoints) throws IOException {
        if (!Files.isDirectory(checkpoints)) {
            return "no checkpoints/";
        }
        try (Stream<Path> s = Files.list(checkpoints)) {
            return String.join(" ", s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    private Writer start(Path run, int trial) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        command.add("-XX:TieredStopAtLevel=1");
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-opens") || arg.startsWith("-Dorg.bytedeco")) {
                command.add(arg);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(CheckpointWriterMain.class.getName());
        command.add(run.toUri().toString());
        Path log = dir.resolve("writer-" + trial + ".log");
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process process = pb.start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException ignoredAtKill) {
                // the stream ends when the writer is killed
            }
        }, "writer-" + trial + "-stdout");
        reader.setDaemon(true);
        reader.start();
        return new Writer(process, lines, log);
    }

    private static String await(Writer writer, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String line = writer.lines().poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line;
            }
            if (line == null && !writer.process().isAlive()) {
                fail("the writer exited with " + writer.process().exitValue() + " before " + prefix + "; its log:\n"
                        + tail(writer.log()));
            }
        }
        writer.process().destroyForcibly();
        throw new AssertionError("the writer printed no " + prefix + " within 60 s; its log:\n" + tail(writer.log()));
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }
}

package dev.anneal.jobs.pipeline;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.pipeline.PipelineState;
import dev.anneal.core.task.StableSplit;
import dev.anneal.core.pipeline.ModelRegistry;
import dev.anneal.jobs.LocalSpark;
import dev.anneal.jobs.Main;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two slices of data-samples text through the pipeline in local mode, the second run killed (SIGKILL of the JVM
 * running it) in the middle of its pretraining and rerun: the rerun takes over the dead run's lock, skips the
 * ingest, trains only up to the recorded target, and completes; the dataset holds each slice once, the promotion
 * log one entry per runId; a concurrent run is refused while the second run holds the lock; a rerun of a complete
 * run does nothing. The first run is evaluated on the fine-tune's test split, the second on a held-out table, so
 * the current model is evaluated again on the second run's data before it is compared.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class PipelineCrashTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    java.nio.file.Path dir;

    private static final java.nio.file.Path REPO = java.nio.file.Path.of("..").toAbsolutePath().normalize();

    /** What one in-process invocation of the command printed and returned. */
    private record Invocation(int code, String out, String err, double seconds) {
    }

    private static Invocation anneal(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Invocation(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - t0) / 1e9);
    }

    private java.nio.file.Path slice(String name, String... files) throws IOException {
        java.nio.file.Path d = dir.resolve("raw").resolve(name);
        Files.createDirectories(d);
        for (String f : files) {
            Files.copy(REPO.resolve("data-samples/text").resolve(f), d.resolve(f));
        }
        return d;
    }

    private java.nio.file.Path config() throws IOException {
        String yaml = """
                root: %s
                labeled: %s
                ingest:
                  config: %s
                  overrides: [vocabulary.frozen=false, partitions=2]
                pretrain:
                  config: %s
                  overrides: [text.windowLength=32, model.embeddingSize=8, model.hiddenSize=16, training.workers=1,
                              checkpoint.everySteps=5, checkpoint.keepLast=0]
                  stepsPerRun: 10
                finetune:
                  config: %s
                  overrides: [training.epochs=1, text.maxLength=32, training.workers=1, split.testFraction=0.3]
                model:
                  name: spam
                promote:
                  metric: auc
                spark:
                  master: local[2]
                """.formatted(dir.resolve("root").toUri(), REPO.resolve("data-samples/spam/emails.jsonl"),
                REPO.resolve("conf/ingest-text.yaml"), REPO.resolve("conf/pretrain.yaml"),
                REPO.resolve("conf/finetune.yaml"));
        java.nio.file.Path file = dir.resolve("pipeline.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private static String[] args(java.nio.file.Path config, String runId, java.nio.file.Path slice,
                                 String... more) {
        List<String> a = new ArrayList<>(List.of("pipeline", "--config", config.toString(), "--set", "runId=" + runId,
                "--input", slice.toUri().toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /**
     * A held-out table for day2's evaluate.input: up to 30 e-mails of each label from the records the fine-tune
     * holds out for testing (split.testFraction 0.3), so both models are measured on records neither trained on.
     */
    private java.nio.file.Path heldOut() throws IOException {
        List<String> kept = new ArrayList<>();
        int[] perLabel = new int[2];
        for (String line : Files.readAllLines(REPO.resolve("data-samples/spam/emails.jsonl"))) {
            Map<String, Object> r = JSON.readValue(line, new TypeReference<Map<String, Object>>() { });
            int label = ((Number) r.get("label")).intValue();
            if (StableSplit.of((String) r.get("text"), 0.15, 0.3) == StableSplit.TEST && perLabel[label]++ < 30) {
                kept.add(line);
            }
        }
        java.nio.file.Path file = dir.resolve("held-out.jsonl");
        Files.write(file, kept);
        return file;
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Map<String, Object> json(java.nio.file.Path file) throws IOException {
        return JSON.readValue(file.toFile(), new TypeReference<Map<String, Object>>() { });
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    /** The promote.metric figure of an evaluation's metrics.json; NaN as Jackson writes it, a string. */
    private static double auc(Map<String, Object> metrics) {
        Object v = map(metrics, "metrics").get("auc");
        return v instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(v));
    }

    private static void assertSameFigure(double expected, Object logged, String what) {
        double actual = logged instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(logged));
        assertEquals(expected, actual, 0.0, what);
    }

    @Test
    void aRunKilledMidwayIsCompletedByItsRerunWithNothingDoneTwice() throws Exception {
        java.nio.file.Path config = config();
        java.nio.file.Path day1 = slice("day1", "sotu-1790-washington.txt", "sotu-1941-roosevelt.txt");
        java.nio.file.Path day2 = slice("day2", "sotu-1964-johnson.txt", "sotu-1986-reagan.txt");
        java.nio.file.Path root = dir.resolve("root");
        Configuration hadoop = new Configuration();
        java.nio.file.Path heldOut = heldOut();
        String[] evaluateOn = {"--set", "evaluate.input=" + heldOut.toUri()};

        Invocation first = anneal(args(config, "day1", day1));
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("promoted as v0001"), first.out());
        // The evaluate step ran anneal evaluate on the fine-tune's own test split (no evaluate.input): the same
        // records, so the same count and AUC as the fine-tune measured, and that AUC is the one promotion logged.
        Map<String, Object> tuned = json(root.resolve("runs/finetune/day1/metrics.json"));
        Map<String, Object> eval1 = json(root.resolve("evaluations/day1/candidate/metrics.json"));
        assertEquals(map(tuned, "records").get("test"), map(eval1, "records").get("scored"), "the test split");
        assertEquals(((Number) map(tuned, "test").get("auc")).doubleValue(), auc(eval1), 1e-9);
        assertTrue(String.valueOf(eval1.get("selection")).startsWith("split test by the stable hash"),
                String.valueOf(eval1.get("selection")));
        Map<String, Object> logged1 = new ModelRegistry(new Path(root.resolve("models/spam").toUri()), hadoop)
                .promotionOf("day1").orElseThrow();
        assertSameFigure(auc(eval1), logged1.get("candidate"), "day1's logged figure is its evaluation's");
        assertEquals(map(eval1, "inputFingerprint").get("sha256"), map(logged1, "evaluation").get("sha256"));

        // The second run in a JVM of its own, killed once its pretraining has written a checkpoint past day1's.
        java.nio.file.Path log = dir.resolve("day2-killed.log");
        long t0 = System.nanoTime();
        Process p = start(args(config, "day2", day2, evaluateOn), log);
        awaitFile(root.resolve("pipeline.lock"), "\"day2\"", p, log);
        Invocation concurrent = anneal(args(config, "day2", day2, evaluateOn));
        assertEquals(1, concurrent.code(), concurrent.out() + concurrent.err());
        assertTrue(concurrent.err().contains("locked by run day2") && concurrent.err().contains("pid " + p.pid()),
                concurrent.err());
        java.nio.file.Path latest = root.resolve("runs/pretrain/checkpoints/LATEST");
        long killedAt = awaitStepAfter(latest, 10, p, log);
        assertTrue(p.isAlive(), "the second run was still running when it was killed");
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        double killedSeconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(137, p.exitValue(), "SIGKILL");
        assertTrue(Files.exists(root.resolve("pipeline.lock")), "the killed run left its lock");
        String stateAtKill = Files.readString(root.resolve("pipeline/day2/state.json"));
        assertTrue(stateAtKill.contains("\"targetStep\" : 20"), stateAtKill);

        Invocation rerun = anneal(args(config, "day2", day2, evaluateOn));
        assertEquals(0, rerun.code(), rerun.out() + rerun.err());
        assertTrue(rerun.out().contains("took over the stale lock of run day2 (host")
                && rerun.out().contains("pid " + p.pid()) && rerun.out().contains("is gone"), rerun.out());
        assertTrue(rerun.out().contains("ingest    skipped: done before"), rerun.out());
        long resumedFrom = Long.parseLong(Files.readString(latest).trim().substring(5));
        // Killed after its checkpoint at the target, the run had trained all it should: the rerun only records it.
        String pretrained = killedAt < 20 ? "pretrain  ran " + (20 - killedAt) + " steps from step " + killedAt
                + " to step 20" : "pretrain  found the target checkpoint";
        assertTrue(rerun.out().contains(pretrained), "the rerun continues from the killed run's last checkpoint ("
                + pretrained + "):\n" + rerun.out());
        assertEquals(20, resumedFrom, "pretraining ends on the recorded target");
        assertFalse(Files.exists(root.resolve("pipeline.lock")), "released");

        DatasetManifest manifest = DatasetFiles.manifest(root.resolve("dataset").toUri().toString(), hadoop);
        assertEquals(2, manifest.slices().size(), "each slice once");
        List<String> sources = new ArrayList<>();
        manifest.slices().forEach(s -> sources.addAll(s.sources()));
        assertEquals(2, sources.size());
        assertTrue(sources.get(0).endsWith("raw/day1") && sources.get(1).endsWith("raw/day2"), sources.toString());

        ModelRegistry registry = new ModelRegistry(new Path(root.resolve("models/spam").toUri()), hadoop);
        List<Map<String, Object>> promotions = registry.promotions();
        assertEquals(List.of("day1", "day2"), promotions.stream().map(e -> e.get("runId")).toList());
        String current = registry.current().orElseThrow().name();
        assertEquals("promoted".equals(promotions.get(1).get("decision")) ? "v0002" : "v0001", current);
        // Champion and challenger on day2's held-out table: v0001 was evaluated on day1's data (another
        // fingerprint), so it was evaluated again on this one; the log holds both evaluations' own figures.
        Map<String, Object> eval2 = json(root.resolve("evaluations/day2/candidate/metrics.json"));
        Map<String, Object> again1 = json(root.resolve("evaluations/day2/current-v0001/metrics.json"));
        long heldOutRecords = Files.readAllLines(heldOut).size();
        assertEquals(heldOutRecords, ((Number) map(eval2, "records").get("scored")).longValue());
        assertEquals(heldOutRecords, ((Number) map(again1, "records").get("scored")).longValue());
        assertTrue(String.valueOf(again1.get("checkpoint")).contains("models/spam/versions/v0001/model"),
                String.valueOf(again1.get("checkpoint")));
        Map<String, Object> logged2 = promotions.get(1);
        assertSameFigure(auc(eval2), logged2.get("candidate"), "the candidate's figure");
        assertSameFigure(auc(again1), logged2.get("current"), "v0001's figure on the same data");
        assertEquals("v0001", logged2.get("currentVersion"));
        assertTrue(String.valueOf(logged2.get("currentSource")).startsWith("evaluated again on this run's data: "
                + "its recorded evaluation was on other data, file:" + REPO.resolve("data-samples/spam/emails.jsonl")
                + " (split test by the stable hash"), String.valueOf(logged2.get("currentSource")));
        assertEquals(heldOut.toUri().toString().replace("file:///", "file:/"), map(logged2, "evaluation").get("input"));
        assertEquals("all records", map(logged2, "evaluation").get("selection"));
        assertEquals(map(eval2, "inputFingerprint").get("sha256"), map(logged2, "evaluation").get("sha256"));
        assertEquals(map(again1, "inputFingerprint").get("sha256"), map(logged2, "evaluation").get("sha256"));
        assertFalse(map(logged1, "evaluation").get("sha256").equals(map(logged2, "evaluation").get("sha256")));
        assertTrue(Files.readString(root.resolve("pipeline/day2/state.json")).contains("\"status\" : \"complete\""));

        Invocation again = anneal(args(config, "day2", day2, evaluateOn));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("pipeline run day2 already completed"), again.out());
        assertEquals(2, registry.promotions().size());
        assertEquals("step-20", Files.readString(latest).trim());

        // Killed after both evaluations were written, before the step was recorded done: the rerun of the step
        // takes the finished evaluations (same data) and runs no evaluation again.
        PipelineConfig loaded = PipelineConfig.SCHEMA.load(config, List.of("runId=day2", "slice=" + day2.toUri(),
                "evaluate.input=" + heldOut.toUri()));
        PipelineState state = PipelineState.load(new Path(root.resolve("pipeline").toUri()), "day2", hadoop);
        state.record("evaluate", PipelineState.STARTED, Map.of("current", Map.of()));
        registry.setCurrent("v0001");
        new Evaluation(loaded, new StageConfigs(loaded, "unused", "unused", hadoop), state,
                new Path(root.toUri()), hadoop).run();
        assertEquals("found", map(state.step("evaluate"), "candidate").get("evaluated"));
        assertEquals("found", map(state.step("evaluate"), "current").get("evaluated"));
        registry.setCurrent(current);
        System.out.printf("pipeline figures: run day1 %.1f s; run day2 killed at pretraining step %d after %.1f s "
                        + "(own JVM); rerun %.1f s; rerun of the complete run %.2f s; concurrent run refused in "
                        + "%.2f s%n", first.seconds(), killedAt, killedSeconds, rerun.seconds(), again.seconds(),
                concurrent.seconds());
    }

    private Process start(String[] args, java.nio.file.Path log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx1g");
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-opens") || arg.startsWith("-D") || arg.startsWith("-XX:+Ignore")) {
                command.add(arg);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        return pb.start();
    }

    private static void awaitFile(java.nio.file.Path file, String content, Process p, java.nio.file.Path log)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                try {
                    if (Files.readString(file).contains(content)) {
                        return;
                    }
                } catch (IOException replacedWhileRead) {
                    // read again
                }
            }
            checkAlive(p, log);
            Thread.sleep(20);
        }
        p.destroyForcibly();
        fail(file + " did not come to hold " + content + " within 120 s; the run's log:\n" + tail(log));
    }

    /** Waits until LATEST names a checkpoint past {@code step}; returns its step. */
    private static long awaitStepAfter(java.nio.file.Path latest, long step, Process p, java.nio.file.Path log)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (Files.exists(latest)) {
                String name = Files.readString(latest).trim();
                if (name.startsWith("step-") && Long.parseLong(name.substring(5)) > step) {
                    return Long.parseLong(name.substring(5));
                }
            }
            checkAlive(p, log);
            Thread.sleep(10);
        }
        p.destroyForcibly();
        fail("no checkpoint past step " + step + " within 180 s; the run's log:\n" + tail(log));
        return -1;
    }

    private static void checkAlive(Process p, java.nio.file.Path log) throws IOException {
        if (!p.isAlive()) {
            fail("the second run exited with " + p.exitValue() + " before it was killed; its log:\n" + tail(log));
        }
    }

    private static String tail(java.nio.file.Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}

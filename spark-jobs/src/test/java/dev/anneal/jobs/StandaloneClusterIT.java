package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointStore;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shaded jar on a real Spark standalone cluster: a Master and two Workers (1 core each) on 127.0.0.1, each its own
 * JVM ({@link StandaloneCluster}), and a pretraining submitted through {@code bin/anneal --master spark://...}, which
 * runs {@code spark-submit} exactly as for a user, once per training engine. Each run must train in two executor JVMs
 * on different Workers, write a verified checkpoint whose manifest names the engine, and leave no executor behind;
 * after the last test no JVM the cluster started may be alive.
 *
 * <p>Needs the package phase's outputs (the shaded jar and the classpath lists): run with {@code mvn verify}; just this
 * test: {@code mvn -B verify -pl spark-jobs -am -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test=StandaloneClusterIT}. Files and logs: {@code spark-jobs/target/standalone-cluster-it/run-*}; the logs' tails
 * are printed when a test fails.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
@ExtendWith(StandaloneClusterIT.PrintLogsOnFailure.class)
class StandaloneClusterIT {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    /** Spark-submit options of every run: one 1-core, 1 GiB executor per Worker, a 1 GiB driver. */
    private static final String SUBMIT_ARGS = String.join(" ",
            "--driver-memory 1g --executor-memory 1g --total-executor-cores 2 --conf spark.executor.cores=1",
            // Start training only once both executors are registered, so both get tasks from the first stage on.
            "--conf spark.scheduler.minRegisteredResourcesRatio=1.0");
    /** ND4J's off-heap limit per executor ({@code executor.offHeap}), which must reach the executor JVMs. */
    private static final long OFF_HEAP = 512L << 20;
    private static final Duration SUBMISSION_LIMIT = Duration.ofMinutes(5);

    private static Path dir;
    private static StandaloneCluster cluster;

    @BeforeAll
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    static void startCluster() throws IOException, InterruptedException {
        Path base = Files.createDirectories(Path.of("target", "standalone-cluster-it").toAbsolutePath());
        dir = Files.createTempDirectory(base, "run-");
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        // About 27 KB of text: 26 minibatches of 32 windows, enough for two workers and a measurable loss.
        for (String f : List.of("sotu-1790-washington.txt", "sotu-1941-roosevelt.txt")) {
            Files.copy(REPO.resolve("data-samples/text").resolve(f), corpus.resolve(f));
        }
        // The test suite's stand-in for deploy/gpu/discover-gpus.sh: GPUs "3" and "5".
        Path gpus = Path.of("src/test/resources/fake-gpus.sh").toAbsolutePath();
        long t0 = System.nanoTime();
        cluster = StandaloneCluster.builder(dir).workers(2).workerCores(1).workerMemory("2g")
                // Worker 1 also offers two (fake) GPUs: proof that extra worker conf reaches the Worker. Applications
                // that ask for no GPUs are scheduled on it as on any other.
                .workerConf(1, "spark.worker.resource.gpu.amount", "2")
                .workerConf(1, "spark.worker.resource.gpu.discoveryScript", gpus.toString())
                .start();
        System.out.printf("StandaloneClusterIT: master and 2 workers up in %.1f s at %s (logs in %s)%n",
                seconds(t0), cluster.masterUrl(), cluster.logDir());
    }

    @AfterAll
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    static void stopClusterAndCheckNothingIsLeft() throws IOException {
        if (cluster == null) {
            return;
        }
        long t0 = System.nanoTime();
        cluster.close();
        List<ProcessHandle> left = cluster.survivors();
        System.out.printf("StandaloneClusterIT: cluster stopped in %.1f s%n", seconds(t0));
        // Each executor fetched its own copy of the 160 MB job jar; the logs and checkpoints stay for a look.
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path jar : s.filter(p -> p.getFileName().toString().equals("anneal-jobs.jar")).toList()) {
                Files.deleteIfExists(jar);
            }
        }
        assertTrue(left.isEmpty(), "processes left after the cluster was stopped:\n" + ProcessTrees.describe(left));
    }

    @Test
    @Order(1)
    void extraWorkerConfReachesTheWorker() throws Exception {
        JsonNode state = cluster.masterState();
        assertEquals(2, state.path("aliveworkers").asInt(), state.toPrettyString());
        List<String> gpuAddresses = new ArrayList<>();
        int withoutGpus = 0;
        for (JsonNode worker : state.path("workers")) {
            assertEquals("ALIVE", worker.path("state").asText());
            assertEquals(1, worker.path("cores").asInt());
            JsonNode gpu = worker.path("resources").path("gpu");
            if (gpu.isMissingNode()) {
                withoutGpus++;
            } else {
                gpu.path("addresses").forEach(a -> gpuAddresses.add(a.asText()));
            }
        }
        assertEquals(List.of("3", "5"), gpuAddresses, "worker 1 reports the discovery script's GPUs: " + state);
        assertEquals(1, withoutGpus, "worker 0 has none: " + state);
    }

    @Test
    @Order(2)
    void parameterAveragingTrainsInTwoExecutorsOnTwoWorkers() throws Exception {
        Run run = pretrain("parameter-averaging", List.of());
        assertExecutorsRanTasks(run);
    }

    /**
     * Tagged like {@code GradientSharingTest}: {@code -Danneal.test.excludedGroups=gradient-sharing} leaves both out.
     * A hung transport fails the case after the five-minute submission limit instead of stalling the build.
     */
    @Test
    @Order(3)
    @Tag("gradient-sharing")
    void gradientSharingTrainsInTwoExecutorsOnTwoWorkers() throws Exception {
        // The driver's transport listens on the base port, executor n on base + 1 + n.
        int base = LoopbackPorts.freeUdpPorts(4);
        Run run = pretrain("gradient-sharing", List.of("training.gradientSharing.port=" + base));
        assertExecutorsRanTasks(run);
        run.executors().forEach((executor, stderr) -> {
            String expected = "Initializing transport [127.0.0.1:" + (base + 1 + Integer.parseInt(executor)) + "]";
            assertTrue(read(stderr).contains(expected), "executor " + executor + " joined the transport on its own "
                    + "port: '" + expected + "' in " + stderr);
        });
    }

    /**
     * GPU scheduling end to end on CPUs: worker 1 offers the fake GPUs "3" and "5"; an application that asks for one
     * GPU per executor and per task gets its executor there, and every training task hands the address Spark gave it
     * to the engine's GPU binding (recorded in metrics.json; the CPU backend has nothing to bind).
     */
    @Test
    @Order(4)
    void gpuAddressesFromTheDiscoveryScriptReachTheTrainingTasks() throws Exception {
        Path output = dir.resolve("runs").resolve("gpu");
        List<String> command = new ArrayList<>(List.of(REPO.resolve("bin/anneal").toString(), "pretrain",
                "--master", cluster.masterUrl(), "--input", dir.resolve("corpus").toString(),
                "--output", output.toString()));
        for (String set : List.of("seed=7", "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=16",
                "training.epochs=1", "training.workers=2", "executor.offHeap=512m")) {
            command.add("--set");
            command.add(set);
        }
        Map<String, String> env = new LinkedHashMap<>(cluster.submitEnvironment());
        env.put("ANNEAL_SUBMIT_ARGS", String.join(" ", "--driver-memory 1g --executor-memory 1g",
                "--total-executor-cores 1 --conf spark.executor.cores=1",
                "--conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1"));
        Process driver = cluster.launch("driver-gpu", command, env);
        try {
            if (!driver.waitFor(SUBMISSION_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("the GPU submission did not finish within " + SUBMISSION_LIMIT);
            }
        } finally {
            if (driver.isAlive()) {
                cluster.stop(driver, Duration.ofSeconds(5));
            }
        }
        String err = read(cluster.logDir().resolve("driver-gpu.err"));
        assertEquals(0, driver.exitValue(), "exit code; stderr:\n" + err);

        JsonNode metrics = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(output.resolve(PretrainJob.METRICS).toFile());
        JsonNode bindings = metrics.path("epochs").path(0).path("gpuBindings");
        assertTrue(bindings.isArray() && bindings.size() >= 2,
                "each of the training tasks recorded its GPU: " + metrics.toPrettyString());
        for (JsonNode binding : bindings) {
            String text = binding.asText();
            assertTrue(text.matches("executor [0-9]+ partition [0-9]+: gpu [35] -> ND4J device [35] "
                    + "\\(cpu backend: nothing to bind\\)"), "a fake GPU's address, resolved: " + text);
        }
        System.out.printf("StandaloneClusterIT: GPU bindings %s%n", bindings);
        awaitNoExecutorProcesses("gpu");
    }

    /**
     * An executor JVM killed (SIGKILL) in the middle of an epoch: Spark runs its tasks again on the executor the Worker
     * starts in its place, the run completes all its epochs, and the driver's log says what was lost.
     */
    @Test
    @Order(5)
    void aKilledExecutorIsReplacedAndTheRunCompletes() throws Exception {
        Path output = dir.resolve("runs").resolve("killed-executor");
        List<String> command = new ArrayList<>(List.of(REPO.resolve("bin/anneal").toString(), "pretrain",
                "--master", cluster.masterUrl(), "--input", dir.resolve("corpus").toString(),
                "--output", output.toString()));
        for (String set : List.of("seed=7", "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=16",
                "training.epochs=2", "training.workers=2", "checkpoint.everySteps=4", "checkpoint.keepLast=0",
                "executor.offHeap=" + (OFF_HEAP >> 20) + "m")) {
            command.add("--set");
            command.add(set);
        }
        Map<String, String> env = new LinkedHashMap<>(cluster.submitEnvironment());
        env.put("ANNEAL_SUBMIT_ARGS", SUBMIT_ARGS);
        Process driver = cluster.launch("driver-killed-executor", command, env);
        Path err = cluster.logDir().resolve("driver-killed-executor.err");
        try {
            // The first mid-epoch checkpoint: training is under way on both executors.
            long deadline = System.nanoTime() + SUBMISSION_LIMIT.toNanos();
            while (!read(err).contains("TrainingLoop: epoch 1: ") && driver.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(driver.isAlive(), "the driver trains when the executor is killed:\n" + read(err));
            ProcessHandle executor = cluster.workerProcess(0).descendants()
                    .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                    .findFirst().orElseThrow(() -> new AssertionError("no executor under worker 0"));
            assertTrue(executor.destroyForcibly(), "SIGKILL to executor " + executor.pid());
            System.out.printf("StandaloneClusterIT: killed executor JVM %d mid-epoch%n", executor.pid());
            if (!driver.waitFor(SUBMISSION_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                fail("the run with a killed executor did not finish within " + SUBMISSION_LIMIT);
            }
        } finally {
            if (driver.isAlive()) {
                cluster.stop(driver, Duration.ofSeconds(5));
            }
        }
        String log = read(err);
        assertEquals(0, driver.exitValue(), "exit code; stderr:\n" + log);
        assertTrue(log.contains("TaskRetries: executor ") && log.contains(" removed: "),
                "the driver's log names the lost executor:\n" + log);
        Checkpoint last = new CheckpointStore(new Configuration())
                .read(new org.apache.hadoop.fs.Path(output.toUri()), false);
        assertEquals(2, last.info().epoch(), "both epochs completed");
        assertTrue(Double.isFinite(((Number) last.info().metrics().get("validationLoss")).doubleValue()));
        awaitNoExecutorProcesses("killed-executor");
    }

    /**
     * Anneal's own engine on two executors: each round's broadcast of parameters and updater state is fetched by the
     * executors and their results come back, and both are counted in metrics.json.
     */
    @Test
    @Order(6)
    void localSgdTrainsInTwoExecutorsOnTwoWorkersAndCountsItsTraffic() throws Exception {
        Run run = pretrain("local-sgd", List.of());
        assertExecutorsRanTasks(run);
        JsonNode metrics = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                dir.resolve("runs").resolve("local-sgd").resolve(PretrainJob.METRICS).toFile());
        JsonNode communication = metrics.path("epochs").path(0).path("communication");
        assertTrue(communication.path("broadcastBytes").asLong() > 0, "executors fetched the rounds' broadcasts: "
                + communication);
        assertTrue(communication.path("resultBytes").asLong() > 0, "the workers' results were counted: "
                + communication);
        System.out.printf("StandaloneClusterIT: local-sgd communication %s%n", communication);
    }

    /**
     * Local SGD's sparse exchange on two executors over two passes: each worker keeps its residual, Adam state and
     * parameters in its executor, and the second pass, dealt anew, starts from them wherever Spark places its tasks
     * (no executor logs a task that found no kept state) without fetching the pass's broadcast of parameters and
     * Adam state, which the first pass fetched on both executors.
     */
    @Test
    @Order(7)
    void localSgdsSparseExchangeContinuesFromWhatEachExecutorKept() throws Exception {
        Run run = pretrain("local-sgd-sparse", "local-sgd", 2, List.of("training.localSgd.density=0.1"));
        assertExecutorsRanTasks(run);
        JsonNode epochs = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                dir.resolve("runs").resolve("local-sgd-sparse").resolve(PretrainJob.METRICS).toFile()).path("epochs");
        JsonNode first = epochs.path(0).path("communication");
        JsonNode second = epochs.path(1).path("communication");
        System.out.printf("StandaloneClusterIT: sparse local-sgd communication, pass 1 %s, pass 2 %s%n", first, second);
        for (Map.Entry<String, Path> executor : run.executors().entrySet()) {
            String log = read(executor.getValue());
            assertFalse(log.contains("sparse local-sgd: no state"), "executor " + executor.getKey()
                    + " ran a task that found no kept state:\n" + log);
        }
        assertTrue(first.path("resultBytes").asLong() > 0 && second.path("resultBytes").asLong() > 0,
                "the exchange and the parameters were counted: " + first + ", " + second);
        // Pass 1's broadcasts: the model, the pass's state (12 bytes a parameter), the stages' task binaries. Pass 2
        // fetches task binaries only: less than pass 1 without the two executors' copies of the state.
        String driver = read(cluster.logDir().resolve("driver-local-sgd-sparse.err"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("sends \\d+ of (\\d+) parameter changes")
                .matcher(driver);
        assertTrue(m.find(), "the driver logs the sparse exchange's size");
        assertEquals(2, driver.split("local-sgd: the checkpoint holds the Adam state worker", -1).length - 1,
                "each epoch's checkpoint fetched the Adam state a worker kept in its executor");
        long stateBytes = 12 * Long.parseLong(m.group(1));
        assertTrue(second.path("broadcastBytes").asLong() < first.path("broadcastBytes").asLong() - 2 * stateBytes,
                "the second pass fetched no broadcast of the " + stateBytes + "-byte state: " + first + ", " + second);
    }

    /** What one submission left: its application id and each executor's stderr by executor id. */
    private record Run(String engine, String appId, Map<String, Path> executors) {
    }

    private static Run pretrain(String engine, List<String> extraSets) throws Exception {
        return pretrain(engine, engine, 1, extraSets);
    }

    /** A submission named {@code name} (its output folder and driver log) training {@code epochs} passes. */
    private static Run pretrain(String name, String engine, int epochs, List<String> extraSets) throws Exception {
        Path output = dir.resolve("runs").resolve(name);
        Set<String> appsBefore = appIds(cluster.masterState());
        List<String> command = new ArrayList<>(List.of(REPO.resolve("bin/anneal").toString(), "pretrain",
                "--master", cluster.masterUrl(), "--input", dir.resolve("corpus").toString(),
                "--output", output.toString()));
        List<String> sets = new ArrayList<>(List.of("training.engine=" + engine, "seed=7", "text.windowLength=32",
                "model.embeddingSize=8", "model.hiddenSize=16", "training.epochs=" + epochs, "training.workers=2",
                "executor.offHeap=" + (OFF_HEAP >> 20) + "m"));
        sets.addAll(extraSets);
        for (String s : sets) {
            command.add("--set");
            command.add(s);
        }
        Map<String, String> env = new LinkedHashMap<>(cluster.submitEnvironment());
        env.put("ANNEAL_SUBMIT_ARGS", SUBMIT_ARGS);

        String driverName = "driver-" + name;
        long t0 = System.nanoTime();
        Process driver = cluster.launch(driverName, command, env);
        try {
            if (!driver.waitFor(SUBMISSION_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                fail(name + ": the submission did not finish within " + SUBMISSION_LIMIT
                        + " (a hung transport looks like this)");
            }
        } finally {
            if (driver.isAlive()) {
                cluster.stop(driver, Duration.ofSeconds(5));
            }
        }
        double seconds = seconds(t0);
        System.out.printf("StandaloneClusterIT: %s: bin/anneal pretrain on the cluster took %.1f s%n", engine, seconds);
        String out = read(cluster.logDir().resolve(driverName + ".out"));
        String err = read(cluster.logDir().resolve(driverName + ".err"));
        assertEquals(0, driver.exitValue(), engine + ": exit code; stdout:\n" + out + "\nstderr:\n" + err);

        // The driver JVM got the Java 17 flags: spark-submit's launcher put --driver-java-options on its command line.
        String launch = err.lines().filter(l -> l.startsWith("Spark Command: ")).findFirst()
                .orElseThrow(() -> new AssertionError("no 'Spark Command:' line in the driver's stderr:\n" + err));
        for (String option : jvmOptions()) {
            assertTrue(launch.contains(" " + option + " "), "driver JVM option " + option + " in: " + launch);
        }

        // The checkpoint: LATEST names it, every file verifies against the manifest, which names the engine.
        String latest = Files.readString(output.resolve("checkpoints/LATEST"), StandardCharsets.UTF_8).trim();
        assertTrue(latest.matches("step-[0-9]+"), latest);
        Checkpoint checkpoint = new CheckpointStore(new Configuration())
                .read(new org.apache.hadoop.fs.Path(output.toUri()), false);
        assertEquals("pretrain", checkpoint.info().job());
        assertEquals(epochs, checkpoint.info().epoch());
        assertEquals("step-" + checkpoint.info().step(), latest);
        Map<?, ?> training = (Map<?, ?>) checkpoint.info().config().get("training");
        assertEquals(engine, training.get("engine"), "the manifest's config records the engine: " + training);
        double loss = ((Number) checkpoint.info().metrics().get("validationLoss")).doubleValue();
        double uniform = Math.log(checkpoint.vocabulary().size());
        assertTrue(Double.isFinite(loss) && loss > 0, engine + ": validation loss " + loss);
        assertTrue(loss < uniform, engine + ": validation loss " + loss + " nats/char is below guessing uniformly "
                + "among " + checkpoint.vocabulary().size() + " characters (" + uniform + ")");
        assertTrue(out.contains(String.format("-> %.4f nats/char", loss)) && out.contains(output.toString()),
                "stdout reports the same loss and checkpoint: " + out);

        String appId = finishedApplication(appsBefore);
        Map<String, Path> executors = executorsOf(appId);
        System.out.printf("StandaloneClusterIT: %s: %s ran executors %s; validation loss %.4f nats/char%n",
                engine, appId, executors.keySet(), loss);
        awaitNoExecutorProcesses(engine);
        return new Run(engine, appId, executors);
    }

    /** The id of the one application that finished since {@code before}, once the Master lists it as FINISHED. */
    private static String finishedApplication(Set<String> before) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonNode state = null;
        while (System.nanoTime() < deadline) {
            state = cluster.masterState();
            List<String> finished = new ArrayList<>();
            for (JsonNode app : state.path("completedapps")) {
                if (!before.contains(app.path("id").asText()) && "FINISHED".equals(app.path("state").asText())) {
                    finished.add(app.path("id").asText());
                }
            }
            boolean active = false;
            for (JsonNode app : state.path("activeapps")) {
                active |= !before.contains(app.path("id").asText());
            }
            if (!active && finished.size() == 1) {
                return finished.get(0);
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the master lists no single new finished application: " + state);
    }

    /** Executor id to stderr, from the Workers' work directories; asserts one executor on each Worker. */
    private static Map<String, Path> executorsOf(String appId) throws IOException {
        Map<String, Path> executors = new TreeMap<>();
        for (int i = 0; i < cluster.workerCount(); i++) {
            Path appDir = cluster.workerWorkDir(i).resolve(appId);
            List<Path> dirs;
            try (Stream<Path> s = Files.exists(appDir) ? Files.list(appDir) : Stream.empty()) {
                dirs = s.filter(Files::isDirectory).toList();
            }
            assertEquals(1, dirs.size(), "worker " + i + " ran exactly one executor of " + appId + ": " + dirs);
            String id = dirs.get(0).getFileName().toString();
            assertTrue(executors.put(id, dirs.get(0).resolve("stderr")) == null, "executor ids differ: " + id);
        }
        return executors;
    }

    private static void assertExecutorsRanTasks(Run run) {
        assertEquals(2, run.executors().size(), run.engine() + ": two executors");
        run.executors().forEach((id, stderr) -> {
            String log = read(stderr);
            assertTrue(log.contains("Running task"), run.engine() + ": executor " + id + " ran tasks: " + stderr);
            String command = log.lines().filter(l -> l.startsWith("Spark Executor Command: ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no executor command in " + stderr));
            List<String> expected = new ArrayList<>(jvmOptions());
            // executor.offHeap, turned into JavaCPP's limit by the job (ExecutorResources) before the executors start
            expected.add("-Dorg.bytedeco.javacpp.maxbytes=" + OFF_HEAP);
            for (String option : expected) {
                assertTrue(command.contains("\"" + option + "\""), "executor JVM option " + option + " in " + command);
            }
        });
    }

    /** The Workers end an application's executors when it finishes; none may linger. */
    private static void awaitNoExecutorProcesses(String engine) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<ProcessHandle> left = List.of();
        while (System.nanoTime() < deadline) {
            left = new ArrayList<>();
            for (int i = 0; i < cluster.workerCount(); i++) {
                cluster.workerProcess(i).descendants().forEach(left::add);
            }
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(500);
        }
        fail(engine + ": executors still running a minute after the application ended:\n"
                + ProcessTrees.describe(left));
    }

    private static Set<String> appIds(JsonNode state) {
        Set<String> ids = new HashSet<>();
        for (String key : List.of("activeapps", "completedapps")) {
            state.path(key).forEach(app -> ids.add(app.path("id").asText()));
        }
        return ids;
    }

    /** The Java 17 flags bin/anneal hands the driver and executors (written by the build). */
    private static List<String> jvmOptions() {
        return List.of(read(Path.of("target/classes/anneal-jvm-options.txt")).trim().split("\\s+"));
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Prints the tails of every cluster log when a test fails. */
    static final class PrintLogsOnFailure implements TestWatcher {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            if (cluster != null) {
                System.out.println("StandaloneClusterIT: " + context.getDisplayName() + " failed; logs under "
                        + dir + ":\n" + cluster.logReport(80));
            }
        }
    }
}

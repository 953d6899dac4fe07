package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster on 127.0.0.1 for tests: one Master and N Workers, each its own JVM, run from the Spark
 * jars of the Maven build; no Spark distribution is downloaded. {@link Builder#start()} builds a stand-in
 * distribution under {@code dir/spark-home} ({@code jars/} links to the jars of {@code target/provided-classpath.txt}
 * and {@code target/spark-shared-classpath.txt}, {@code bin/spark-submit} runs Spark's own launcher), starts the
 * daemons and waits until the Master lists every Worker as alive. Workers launch executors with
 * {@code spark-home/jars} as their classpath, as in a real distribution.
 *
 * <p>Everything the cluster starts, and whatever those processes start (executors), is ended by {@link #close()}:
 * gracefully first, then forcibly, whole process trees; then any process whose command line names {@code dir} is
 * ended too (an executor whose worker died is no longer a descendant of anything here). {@link #survivors()} lists
 * what is still alive afterwards, for tests to assert on. A shutdown hook does the same if the test JVM exits first.
 *
 * <p>Logs: {@code dir/logs/<name>.out|.err} for every process started through {@link #launch}, and each executor's
 * {@code stdout}/{@code stderr} under its worker's work directory {@code dir/worker-<i>/work/<app-id>/<executor-id>/}.
 * {@link #logReport(int)} gathers their tails.
 */
public final class StandaloneCluster implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HOST = "127.0.0.1";

    private final Builder options;
    private final Path dir;
    private final Path sparkHome;
    private final Path logs;
    private final int masterPort;
    private final int masterWebUiPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Launched> launched = new ArrayList<>();
    private final Set<ProcessHandle> seen = new LinkedHashSet<>();
    private final Thread shutdownHook = new Thread(this::killEverything, "standalone-cluster-teardown");
    private Process master;
    private final List<Process> workers = new ArrayList<>();
    private boolean closed;

    private record Launched(String name, Process process) {
    }

    private StandaloneCluster(Builder options) {
        this.options = options;
        this.dir = options.dir.toAbsolutePath().normalize();
        this.sparkHome = dir.resolve("spark-home");
        this.logs = dir.resolve("logs");
        this.masterPort = LoopbackPorts.freePort();
        this.masterWebUiPort = LoopbackPorts.freePort();
    }

    public static Builder builder(Path dir) {
        return new Builder(dir);
    }

    /** Options of a cluster; {@link #start()} starts it. */
    public static final class Builder {
        private final Path dir;
        private int workers = 2;
        private int workerCores = 1;
        private String workerMemory = "2g";
        private String daemonHeap = "512m";
        private Duration startTimeout = Duration.ofMinutes(2);
        private List<Path> sparkJars;
        private final Map<String, String> workerConf = new LinkedHashMap<>();
        private final Map<String, String> daemonConf = new LinkedHashMap<>();
        private final Map<Integer, Map<String, String>> workerConfByIndex = new TreeMap<>();

        private Builder(Path dir) {
            this.dir = dir;
        }

        /** Number of Workers (default 2). */
        public Builder workers(int n) {
            this.workers = n;
            return this;
        }

        /** Cores each Worker offers (default 1, so one single-core executor per Worker). */
        public Builder workerCores(int cores) {
            this.workerCores = cores;
            return this;
        }

        /** Memory each Worker offers to executors (default 2g). */
        public Builder workerMemory(String memory) {
            this.workerMemory = memory;
            return this;
        }

        /** Heap of the Master and Worker JVMs themselves (default 512m). */
        public Builder daemonHeap(String heap) {
            this.daemonHeap = heap;
            return this;
        }

        /** How long to wait for the Master and every Worker to be alive (default 2 min). */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        /** The jars of the stand-in distribution's {@code jars/}; default: the build's two classpath files. */
        public Builder sparkJars(List<Path> jars) {
            this.sparkJars = List.copyOf(jars);
            return this;
        }

        /**
         * A Spark property for every Worker, e.g. {@code spark.worker.resource.gpu.amount}. Worker properties reach the
         * Worker JVM through {@code --properties-file} ({@code dir/worker-<i>/worker.conf}), as
         * {@code spark-defaults.conf} does on a real cluster.
         */
        public Builder workerConf(String key, String value) {
            workerConf.put(key, value);
            return this;
        }

        /**
         * A Spark property for the Master and every Worker, e.g. {@code spark.authenticate} and its secret, which the
         * daemons and the applications must share; through {@code --properties-file} like {@link #workerConf}.
         */
        public Builder daemonConf(String key, String value) {
            daemonConf.put(key, value);
            return this;
        }

        /** A Spark property for Worker {@code index} (0-based) only; it wins over the all-Worker one of that key. */
        public Builder workerConf(int index, String key, String value) {
            workerConfByIndex.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(key, value);
            return this;
        }

        /** Builds the stand-in distribution, starts the Master and Workers and waits until all are alive. */
        public StandaloneCluster start() throws IOException, InterruptedException {
            StandaloneCluster cluster = new StandaloneCluster(this);
            try {
                cluster.startDaemons();
                return cluster;
            } catch (IOException | InterruptedException | RuntimeException | Error e) {
                cluster.close();
                throw e;
            }
        }
    }

    /** {@code spark://127.0.0.1:<port>}. */
    public String masterUrl() {
        return "spark://" + HOST + ":" + masterPort;
    }

    public int masterWebUiPort() {
        return masterWebUiPort;
    }

    /** The stand-in Spark distribution: {@code jars/}, {@code bin/spark-submit}, an empty {@code conf/}. */
    public Path sparkHome() {
        return sparkHome;
    }

    public Path logDir() {
        return logs;
    }

    /** The work directory of Worker {@code index}: {@code <app-id>/<executor-id>/} per executor it ran. */
    public Path workerWorkDir(int index) {
        return dir.resolve("worker-" + index).resolve("work");
    }

    public int workerCount() {
        return workers.size();
    }

    /** The Master JVM. */
    public ProcessHandle masterProcess() {
        return master.toHandle();
    }

    /** The Worker JVM {@code index}; its descendants are the executors it runs. */
    public ProcessHandle workerProcess(int index) {
        return workers.get(index).toHandle();
    }

    /**
     * The environment for a {@code spark-submit} (or {@code bin/anneal}) against this cluster: the stand-in
     * {@code SPARK_HOME}, loopback, and {@code SPARK_PRINT_LAUNCH_COMMAND} so the driver's stderr starts with the java
     * command Spark's launcher built.
     */
    public Map<String, String> submitEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", HOST);
        env.put("SPARK_PRINT_LAUNCH_COMMAND", "1");
        env.put("SPARK_LOCAL_DIRS", dir.resolve("driver-local").toString());
        return env;
    }

    /** The Master's state: {@code GET http://127.0.0.1:<web-ui>/json/} (workers, their resources, apps). */
    public JsonNode masterState() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + masterWebUiPort + "/json/"))
                .timeout(Duration.ofSeconds(10)).GET().build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("master web UI answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    /**
     * Starts a process that belongs to this cluster (ended by {@link #close()}); stdout and stderr go to
     * {@code logs/<name>.out} and {@code logs/<name>.err}. The environment is this JVM's without its {@code SPARK_*}
     * and Hadoop/YARN conf variables, plus {@code env}.
     */
    public synchronized Process launch(String name, List<String> command, Map<String, String> env) throws IOException {
        if (closed) {
            throw new IllegalStateException("cluster is closed");
        }
        if (launched.isEmpty()) {
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        Files.createDirectories(logs);
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectOutput(logs.resolve(name + ".out").toFile())
                .redirectError(logs.resolve(name + ".err").toFile());
        Map<String, String> environment = pb.environment();
        environment.keySet().removeIf(k -> k.startsWith("SPARK_") || k.equals("HADOOP_CONF_DIR")
                || k.equals("YARN_CONF_DIR") || k.startsWith("ANNEAL_"));
        environment.putAll(env);
        Process p = pb.start();
        launched.add(new Launched(name, p));
        seen.add(p.toHandle());
        return p;
    }

    /**
     * Ends {@code p} and its descendants: SIGTERM to {@code p} (a Worker then ends its executors itself), and after
     * {@code grace} SIGKILL to whatever of the tree is left. The descendants are listed before anything is signalled:
     * once their parent is gone they are no longer its descendants.
     */
    public void stop(Process p, Duration grace) throws InterruptedException {
        List<ProcessHandle> tree = ProcessTrees.tree(p.toHandle());
        synchronized (this) {
            seen.addAll(tree);
        }
        p.destroy();
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : tree) {
            ProcessTrees.awaitExit(h, Math.max(0, deadline - System.nanoTime()));
        }
        for (ProcessHandle h : tree) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : tree) {
            ProcessTrees.awaitExit(h, TimeUnit.SECONDS.toNanos(10));
        }
    }

    /**
     * Everything this cluster started that is still alive, with its descendants and any other process whose command
     * line names the cluster's directory. Empty after {@link #close()} unless something could not be ended.
     */
    public synchronized List<ProcessHandle> survivors() {
        Set<ProcessHandle> alive = new LinkedHashSet<>();
        for (ProcessHandle h : seen) {
            if (h.isAlive()) {
                alive.add(h);
                h.descendants().forEach(alive::add);
            }
        }
        strays().forEach(alive::add);
        return List.copyOf(alive);
    }

    /** The last {@code lines} lines of every log file: the daemons', submissions', and each executor's. */
    public String logReport(int lines) {
        StringBuilder sb = new StringBuilder();
        List<Path> files = new ArrayList<>();
        try {
            if (Files.isDirectory(logs)) {
                try (Stream<Path> s = Files.list(logs)) {
                    s.sorted().forEach(files::add);
                }
            }
            for (int i = 0; i < options.workers; i++) {
                Path work = workerWorkDir(i);
                if (Files.isDirectory(work)) {
                    try (Stream<Path> s = Files.walk(work, 3)) {
                        s.filter(f -> f.getFileName().toString().matches("stdout|stderr")).sorted()
                                .forEach(files::add);
                    }
                }
            }
        } catch (IOException e) {
            sb.append("(could not list logs: ").append(e).append(")\n");
        }
        for (Path f : files) {
            sb.append("===== ").append(f).append('\n');
            try {
                List<String> all = Files.readAllLines(f, StandardCharsets.UTF_8);
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException | UncheckedIOException e) {
                sb.append("(unreadable: ").append(e).append(")\n");
            }
        }
        return sb.toString();
    }

    /** Ends the workers (and so their executors), then the master, and anything else started here. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            List<Launched> reversed = new ArrayList<>(launched);
            java.util.Collections.reverse(reversed);
            for (Launched l : reversed) {
                stop(l.process(), Duration.ofSeconds(15));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            killEverything();
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException | IllegalArgumentException e) {
                // shutting down already, or never registered
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------

    private void startDaemons() throws IOException, InterruptedException {
        StandInSparkHome.build(sparkHome, options.sparkJars);
        Files.createDirectories(dir.resolve("driver-local"));
        long deadline = System.nanoTime() + options.startTimeout.toNanos();
        List<String> masterArgs = new ArrayList<>(List.of("--host", HOST, "--port", String.valueOf(masterPort),
                "--webui-port", String.valueOf(masterWebUiPort)));
        if (!options.daemonConf.isEmpty()) {
            Path confFile = Files.createDirectories(dir.resolve("master")).resolve("master.conf");
            writeProperties(confFile, options.daemonConf, "master " + masterUrl());
            masterArgs.addAll(List.of("--properties-file", confFile.toString()));
        }
        master = launch("master", daemon("org.apache.spark.deploy.master.Master", masterArgs), daemonEnvironment());
        awaitMaster("the master to be ALIVE", deadline, state -> "ALIVE".equals(state.path("status").asText()));
        for (int i = 0; i < options.workers; i++) {
            Path workerDir = Files.createDirectories(dir.resolve("worker-" + i));
            Path workDir = Files.createDirectories(workerWorkDir(i));
            Map<String, String> conf = new LinkedHashMap<>(options.daemonConf);
            conf.putAll(options.workerConf);
            conf.putAll(options.workerConfByIndex.getOrDefault(i, Map.of()));
            List<String> args = new ArrayList<>(List.of(masterUrl(), "--host", HOST, "--cores",
                    String.valueOf(options.workerCores), "--memory", options.workerMemory,
                    // Port 0: the Worker picks free ports itself; the Master's JSON says which.
                    "--port", "0", "--webui-port", "0", "--work-dir", workDir.toString()));
            if (!conf.isEmpty()) {
                Path confFile = workerDir.resolve("worker.conf");
                writeProperties(confFile, conf, "worker-" + i + " of " + masterUrl());
                args.addAll(List.of("--properties-file", confFile.toString()));
            }
            Map<String, String> env = daemonEnvironment();
            // Executors put their block manager and shuffle files under the Worker's local dirs: keep them here.
            env.put("SPARK_LOCAL_DIRS", Files.createDirectories(workerDir.resolve("local")).toString());
            workers.add(launch("worker-" + i, daemon("org.apache.spark.deploy.worker.Worker", args), env));
        }
        int n = options.workers;
        awaitMaster(n + " alive workers", deadline, state -> state.path("aliveworkers").asInt() == n);
    }

    private static void writeProperties(Path file, Map<String, String> conf, String comment) throws IOException {
        Properties properties = new Properties();
        properties.putAll(conf);
        try (var out = Files.newBufferedWriter(file)) {
            properties.store(out, comment);
        }
    }

    private List<String> daemon(String mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xmx" + options.daemonHeap,
                "-cp", sparkHome.resolve("jars") + "/*", mainClass));
        cmd.addAll(args);
        return cmd;
    }

    private Map<String, String> daemonEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("SPARK_LOCAL_IP", HOST);
        return env;
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void awaitMaster(String what, long deadline, Predicate<JsonNode> condition)
            throws IOException, InterruptedException {
        JsonNode last = null;
        Exception lastError = null;
        while (System.nanoTime() < deadline) {
            for (Launched l : launched) {
                if (!l.process().isAlive()) {
                    throw new IllegalStateException(l.name() + " exited with " + l.process().exitValue()
                            + " while waiting for " + what + "\n" + logReport(60));
                }
            }
            try {
                last = masterState();
                if (condition.test(last)) {
                    return;
                }
            } catch (IOException e) {
                lastError = e;
            }
            Thread.sleep(500);
        }
        throw new IOException("timed out waiting for " + what + "; master said " + last + ", last error "
                + lastError + "\n" + logReport(60));
    }

    /** Processes not started here whose command line names this cluster's directory (orphaned executors). */
    private List<ProcessHandle> strays() {
        String marker = dir.toString();
        long self = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses()
                .filter(h -> h.pid() != self && h.isAlive())
                .filter(h -> h.info().commandLine().map(c -> c.contains(marker)).orElse(false))
                .toList();
    }

    /** Forcibly ends, without waiting long, everything known and every stray: the shutdown hook and close's last step. */
    private void killEverything() {
        List<ProcessHandle> all = new ArrayList<>();
        synchronized (this) {
            for (Launched l : launched) {
                all.addAll(ProcessTrees.tree(l.process().toHandle()));
            }
            seen.addAll(all);
        }
        all.addAll(strays());
        all.forEach(ProcessHandle::destroyForcibly);
        try {
            for (ProcessHandle h : all) {
                ProcessTrees.awaitExit(h, TimeUnit.SECONDS.toNanos(10));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            seen.addAll(strays());
        }
    }
}

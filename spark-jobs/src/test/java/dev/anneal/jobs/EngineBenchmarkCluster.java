package dev.anneal.jobs;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The cluster half of {@code scripts/bench-engines}: starts a standalone master and two 1-core workers on 127.0.0.1
 * ({@link StandaloneCluster}), submits {@code dev.anneal.jobs.bench.EngineBenchmark} through {@code spark-submit}
 * for each engine, {@code runs} times alternating, prints each run's {@code RESULT} JSON on stdout, and stops the
 * cluster. Usage: {@code EngineBenchmarkCluster FASHION_MNIST_DIR EPOCHS TARGET RUNS WORK_DIR}.
 */
public final class EngineBenchmarkCluster {
    private EngineBenchmarkCluster() {
    }

    /** The engines to submit: {@code BENCH_ENGINES} (as {@code scripts/bench-engines} narrows its own runs), else three. */
    static List<String> engines() {
        String chosen = System.getenv("BENCH_ENGINES");
        return chosen == null || chosen.isBlank() ? List.of("parameter-averaging", "gradient-sharing", "local-sgd")
                : List.of(chosen.trim().split("\\s+"));
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]).toAbsolutePath();
        String epochs = args[1];
        String target = args[2];
        int runs = Integer.parseInt(args[3]);
        Path dir = Files.createDirectories(Path.of(args[4]).toAbsolutePath());
        // Run from spark-jobs/, as the cluster fixture expects (it reads target/*-classpath.txt).
        Path repo = Path.of("..").toAbsolutePath().normalize();
        Path jar = repo.resolve("spark-jobs/target/anneal-jobs.jar");
        String jvmOptions = Files.readString(repo.resolve("spark-jobs/target/classes/anneal-jvm-options.txt")).trim();

        try (StandaloneCluster cluster = StandaloneCluster.builder(dir).workers(2).workerCores(1)
                .workerMemory("4g").start()) {
            for (int r = 1; r <= runs; r++) {
                for (String mode : engines()) {
                    System.err.printf("run %d: %s on %s%n", r, mode, cluster.masterUrl());
                    List<String> command = new ArrayList<>(List.of(
                            cluster.sparkHome().resolve("bin/spark-submit").toString(),
                            "--master", cluster.masterUrl(), "--deploy-mode", "client",
                            "--class", "dev.anneal.jobs.bench.EngineBenchmark",
                            "--driver-memory", "4g", "--executor-memory", "3g",
                            "--total-executor-cores", "2", "--conf", "spark.executor.cores=1",
                            "--conf", "spark.scheduler.minRegisteredResourcesRatio=1.0",
                            "--conf", "spark.driver.maxResultSize=2g",
                            // The benchmark parallelizes Fashion-MNIST from the driver: ~95 MB per task.
                            "--conf", "spark.rpc.message.maxSize=512",
                            "--driver-java-options", jvmOptions,
                            "--conf", "spark.executor.extraJavaOptions=" + jvmOptions,
                            jar.toString(), mode, data.toString(), epochs, target, "2"));
                    Map<String, String> env = new LinkedHashMap<>(cluster.submitEnvironment());
                    env.put("OMP_NUM_THREADS", "1");
                    String name = "bench-" + mode + "-" + r;
                    Process p = cluster.launch(name, command, env);
                    if (!p.waitFor(20, TimeUnit.MINUTES)) {
                        cluster.stop(p, Duration.ofSeconds(5));
                        throw new IllegalStateException(name + " did not finish in 20 minutes; logs in "
                                + cluster.logDir());
                    }
                    String out = Files.readString(cluster.logDir().resolve(name + ".out"), StandardCharsets.UTF_8);
                    if (p.exitValue() != 0 || !out.contains("RESULT ")) {
                        throw new IllegalStateException(name + " failed (exit " + p.exitValue() + "); logs in "
                                + cluster.logDir());
                    }
                    out.lines().filter(l -> l.startsWith("RESULT ")).map(l -> l.substring("RESULT ".length()))
                            .forEach(System.out::println);
                }
            }
        }
    }

}

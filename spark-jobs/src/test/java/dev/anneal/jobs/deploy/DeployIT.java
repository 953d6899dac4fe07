package dev.anneal.jobs.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.jobs.ProcessTrees;
import dev.anneal.jobs.StandaloneCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code deploy/} against the shaded jar: a pretraining submitted through {@code deploy/submit standalone} with the
 * secure defaults to a loopback standalone cluster whose Master and Worker demand authentication
 * ({@link StandaloneCluster}); dry runs of the YARN and Kubernetes paths (the spark-submit command they build); and
 * the Dockerfile's sources, jar path and entry point against the build. Needs the package phase (mvn verify).
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class DeployIT {
    private static final Path REPO = DeployTemplatesTest.REPO;
    private static Path dir;
    private static StandaloneCluster cluster;
    private static String secret;

    @BeforeAll
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    static void startCluster() throws IOException, InterruptedException {
        Path base = Files.createDirectories(Path.of("target", "deploy-it").toAbsolutePath());
        dir = Files.createTempDirectory(base, "run-");
        secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        // The shared secret lives in the daemons' and the submitter's spark-defaults.conf, as deploy/secure.conf
        // says, never on a command line.
        cluster = StandaloneCluster.builder(dir).workers(1).workerCores(1).workerMemory("2g")
                .daemonConf("spark.authenticate", "true").daemonConf("spark.authenticate.secret", secret).start();
        Path conf = Files.createDirectories(dir.resolve("submit-conf"));
        Path defaults = conf.resolve("spark-defaults.conf");
        Files.writeString(defaults, "spark.authenticate.secret " + secret + "\n");
        Files.setPosixFilePermissions(defaults, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterAll
    static void stopCluster() throws IOException {
        if (cluster == null) {
            return;
        }
        cluster.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path jar : s.filter(p -> p.getFileName().toString().endsWith(".jar")).toList()) {
                Files.deleteIfExists(jar);
            }
        }
        assertTrue(cluster.survivors().isEmpty(), ProcessTrees.describe(cluster.survivors()));
    }

    private record Ran(int code, String out, String err) {
    }

    private static Ran run(String name, List<String> command, Map<String, String> extraEnv) throws Exception {
        Map<String, String> env = new LinkedHashMap<>(cluster.submitEnvironment());
        env.put("SPARK_CONF_DIR", dir.resolve("submit-conf").toString());
        env.putAll(extraEnv);
        Process p = cluster.launch(name, command, env);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            cluster.stop(p, java.time.Duration.ofSeconds(5));
            fail(name + " did not finish within 5 minutes:\n" + cluster.logReport(40));
        }
        return new Ran(p.exitValue(), Files.readString(cluster.logDir().resolve(name + ".out")),
                Files.readString(cluster.logDir().resolve(name + ".err")));
    }

    @Test
    void submitsThroughDeploySubmitWithTheSecureDefaultsToAnAuthenticatingCluster() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        Files.copy(REPO.resolve("data-samples/text/sotu-1941-roosevelt.txt"), corpus.resolve("a.txt"));
        Path output = dir.resolve("runs/lm");
        List<String> command = new ArrayList<>(List.of(REPO.resolve("deploy/submit").toString(), "standalone",
                "pretrain", "--master", cluster.masterUrl(), "--input", corpus.toString(), "--output",
                output.toString()));
        for (String set : List.of("text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=16",
                "training.epochs=1", "training.workers=1", "executor.offHeap=512m")) {
            command.addAll(List.of("--set", set));
        }
        Ran r = run("deploy-submit", command, Map.of("ANNEAL_SUBMIT_ARGS",
                "--driver-memory 1g --executor-memory 1g --total-executor-cores 1"));
        assertEquals(0, r.code(), "exit code; stderr:\n" + r.err() + "\n" + cluster.logReport(30));
        // Spark's launcher printed the driver's command: the templates' properties are on it, the secret is not.
        for (String conf : List.of("spark.authenticate=true", "spark.network.crypto.enabled=true",
                "spark.io.encryption.enabled=true", "spark.acls.enable=true", "spark.redaction.regex=",
                "spark.scheduler.minRegisteredResourcesRatio=1.0")) {
            assertTrue(r.err().contains(conf), conf + " reached spark-submit:\n" + r.err());
        }
        assertFalse(r.out().contains(secret) || r.err().contains(secret), "the secret stays out of the logs");
        // The daemons' SecurityManager says what they enforce (the driver's log config keeps Spark's INFO lines out).
        for (String daemon : List.of("master", "worker-0")) {
            assertTrue(Files.readString(cluster.logDir().resolve(daemon + ".err")).contains("authentication enabled"),
                    daemon + " requires authentication");
        }
        assertTrue(Files.exists(output.resolve("checkpoints/LATEST")), "a checkpoint was written");
        assertTrue(Files.exists(output.resolve("report.html")), "the report was written");
        JsonNode app = cluster.masterState().path("completedapps").path(0);
        assertEquals("FINISHED", app.path("state").asText(), cluster.masterState().toPrettyString());
    }

    /** The spark-submit command deploy/submit would run (ANNEAL_DRY_RUN=1), one word per line. */
    private static Ran dryRun(String name, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(REPO.resolve("deploy/submit").toString()));
        command.addAll(List.of(args));
        Map<String, String> e = new LinkedHashMap<>(env);
        e.put("ANNEAL_DRY_RUN", "1");
        return run(name, command, e);
    }

    @Test
    void yarnAndKubernetesSubmissionsCarryTheirTemplates() throws Exception {
        Path keytab = Files.writeString(dir.resolve("anneal.keytab"), "not a real keytab");
        Ran yarn = dryRun("dry-yarn", Map.of("ANNEAL_PRINCIPAL", "anneal@EXAMPLE.COM", "ANNEAL_KEYTAB",
                keytab.toString()), "yarn", "pretrain", "--input", "hdfs:///c", "--output", "hdfs:///r");
        assertEquals(0, yarn.code(), yarn.err());
        List<String> words = yarn.out().lines().toList();
        assertTrue(words.get(0).endsWith("/bin/spark-submit"), yarn.out());
        assertEquals("yarn", words.get(words.indexOf("--master") + 1), yarn.out());
        assertEquals("anneal@EXAMPLE.COM", words.get(words.indexOf("--principal") + 1), yarn.out());
        assertEquals(keytab.toString(), words.get(words.indexOf("--keytab") + 1), yarn.out());
        assertTrue(words.contains("spark.submit.deployMode=cluster") && words.contains("spark.authenticate=true"),
                yarn.out());
        assertEquals(2, dryRun("dry-yarn-no-keytab", Map.of("ANNEAL_PRINCIPAL", "anneal@EXAMPLE.COM"), "yarn",
                "pretrain").code(), "a principal without a keytab is a usage error");

        assertEquals(2, dryRun("dry-k8s-no-image", Map.of(), "k8s", "pretrain", "--master",
                "k8s://https://127.0.0.1:6443").code(), "Kubernetes without an image is a usage error");
        Ran k8s = dryRun("dry-k8s", Map.of("ANNEAL_IMAGE", "registry.example.com/anneal:1", "ANNEAL_GPU", "1"),
                "k8s", "pretrain", "--master", "k8s://https://127.0.0.1:6443", "--input", "s3a://c", "--output",
                "s3a://r");
        assertEquals(0, k8s.code(), k8s.err());
        List<String> k = k8s.out().lines().toList();
        Map<String, String> build = DeployTemplatesTest.buildEnv();
        String jarUri = "local:///opt/anneal/lib/" + build.get("ANNEAL_JAR_NAME");
        assertEquals(jarUri, k.get(k.indexOf("pretrain") - 1), "the jar inside the image: " + k8s.out());
        assertTrue(k.contains("spark.kubernetes.container.image=registry.example.com/anneal:1")
                && k.contains("spark.executor.resource.gpu.amount=1"), k8s.out());

        // The Dockerfile the build rendered: every COPY source exists after the package, the jar lands where the
        // submissions and manifests look for it, and the entry point is the Spark image's own.
        String dockerfile = Files.readString(Path.of("target/deploy/docker/Dockerfile"));
        boolean jarCopied = false;
        for (String line : dockerfile.lines().filter(l -> l.startsWith("COPY ")).toList()) {
            String[] words2 = line.substring(5).trim().split("\\s+");
            for (int i = 0; i < words2.length - 1; i++) {
                assertTrue(Files.exists(REPO.resolve(words2[i])), "COPY source " + words2[i] + " exists");
            }
            if (words2[0].equals("spark-jobs/target/" + build.get("ANNEAL_JAR_NAME"))) {
                assertEquals(jarUri.substring("local://".length()), words2[1]);
                jarCopied = true;
            }
        }
        assertTrue(jarCopied, "the Dockerfile copies the job jar:\n" + dockerfile);
        List<String> entry = dockerfile.lines().filter(l -> l.startsWith("ENTRYPOINT")).toList();
        assertEquals(List.of("ENTRYPOINT [\"/opt/entrypoint.sh\"]"), entry);
        assertTrue(dockerfile.contains("FROM apache/spark:" + build.get("ANNEAL_SPARK_VERSION") + "-scala"
                + build.get("ANNEAL_SCALA_BINARY_VERSION") + "-java17"), "the base image's Spark is the build's");
        try (JarFile jar = new JarFile(Path.of("target", build.get("ANNEAL_JAR_NAME")).toFile())) {
            assertEquals(build.get("ANNEAL_MAIN_CLASS"), jar.getManifest().getMainAttributes().getValue("Main-Class"));
        }
        assertEquals(build.get("ANNEAL_MAIN_CLASS"),
                new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                        .readTree(Path.of("target/deploy/k8s/sparkapplication.yaml").toFile())
                        .path("spec").path("mainClass").asText());
        assertTrue(new String(Files.readAllBytes(REPO.resolve("deploy/submit")), StandardCharsets.UTF_8)
                .contains("local:///opt/anneal/lib/$ANNEAL_JAR_NAME"));
    }
}

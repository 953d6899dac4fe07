package dev.anneal.jobs.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.anneal.core.config.ConfigField;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PretrainConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The deploy templates as files: every shell script passes ShellCheck, the Kubernetes manifests the build rendered
 * parse and name the build's main class and jar, and the secure defaults' redaction patterns hide secrets and only
 * secrets. What needs the shaded jar (dry runs of deploy/submit, the Dockerfile's sources) is in {@code DeployIT}.
 */
class DeployTemplatesTest {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Every file under the repository's script folders whose first line is a sh or bash shebang. */
    static List<Path> shellScripts() throws IOException {
        List<Path> scripts = new ArrayList<>();
        for (String dir : List.of("bin", "deploy", "scripts", ".ci", "spark-jobs/src/test/resources")) {
            try (Stream<Path> s = Files.walk(REPO.resolve(dir))) {
                for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                    String first = firstLine(p);
                    if (first.startsWith("#!") && first.matches("#!.*\\b(ba)?sh\\b.*")) {
                        scripts.add(p);
                    }
                }
            }
        }
        return scripts;
    }

    private static String firstLine(Path p) throws IOException {
        byte[] head;
        try (var in = Files.newInputStream(p)) {
            head = in.readNBytes(200);
        }
        String s = new String(head, StandardCharsets.ISO_8859_1);
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Test
    void everyShellScriptPassesShellCheck() throws Exception {
        List<Path> scripts = shellScripts();
        for (String expected : List.of("bin/anneal", "deploy/submit", "deploy/gpu/discover-gpus.sh", ".ci/run")) {
            assertTrue(scripts.contains(REPO.resolve(expected)), expected + " is among the checked scripts: " + scripts);
        }
        // -x follows the files the scripts source; their "source=" directives name them from the repository root.
        List<String> command = new ArrayList<>(List.of("shellcheck", "-x", "--format=gcc"));
        scripts.forEach(p -> command.add(p.toString()));
        Process p;
        try {
            p = new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("shellcheck is not installed (Debian: apt-get install shellcheck; .ci/run "
                    + "installs it): " + e.getMessage(), e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "shellcheck finished");
        assertEquals(0, p.exitValue(), "shellcheck over " + scripts.size() + " scripts:\n" + out);
    }

    /** The build's own record of the main class and jar name (spark-jobs/pom.xml, rendered into anneal-build.env). */
    static Map<String, String> buildEnv() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("target/classes/anneal-build.env"))) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        assertEquals("dev.anneal.jobs.Main", dev.anneal.jobs.Main.class.getName());
        assertEquals(dev.anneal.jobs.Main.class.getName(), env.get("ANNEAL_MAIN_CLASS"), "the class that exists");
        return env;
    }

    static JsonNode manifest(String name) throws IOException {
        Path rendered = Path.of("target/deploy/k8s").resolve(name);
        assertTrue(Files.exists(rendered), "the build renders " + name + " into " + rendered);
        String text = Files.readString(rendered);
        assertFalse(Pattern.compile("@[a-z.]+@").matcher(text).find(), "no placeholder is left in " + rendered);
        return YAML.readTree(text);
    }

    @Test
    void sparkApplicationsParseAndNameTheBuildsMainClassAndJar() throws IOException {
        Map<String, String> build = buildEnv();
        Map<String, String> secure = properties(REPO.resolve("deploy/secure.conf"));
        for (String name : List.of("sparkapplication.yaml", "sparkapplication-gpu.yaml")) {
            JsonNode app = manifest(name);
            assertEquals("SparkApplication", app.path("kind").asText(), name);
            assertEquals("sparkoperator.k8s.io/v1beta2", app.path("apiVersion").asText(), name);
            JsonNode spec = app.path("spec");
            assertEquals(build.get("ANNEAL_MAIN_CLASS"), spec.path("mainClass").asText(), name);
            assertEquals("local:///opt/anneal/lib/" + build.get("ANNEAL_JAR_NAME"),
                    spec.path("mainApplicationFile").asText(), name);
            assertEquals(build.get("ANNEAL_SPARK_VERSION"), spec.path("sparkVersion").asText(), name);
            assertEquals("cluster", spec.path("mode").asText(), name);
            assertTrue(spec.path("arguments").path(0).asText().matches("pretrain|finetune"), name);
            JsonNode conf = spec.path("sparkConf");
            for (String key : List.of("spark.authenticate", "spark.network.crypto.enabled",
                    "spark.io.encryption.enabled", "spark.acls.enable", "spark.redaction.regex")) {
                assertEquals(secure.get(key), conf.path(key).asText(), name + ": " + key + " as in deploy/secure.conf");
            }
            String jvmOptions = Files.readString(Path.of("target/classes/anneal-jvm-options.txt")).trim();
            assertEquals(jvmOptions, conf.path("spark.executor.extraJavaOptions").asText(), name);
            assertEquals(jvmOptions, conf.path("spark.driver.extraJavaOptions").asText(), name);
        }
        JsonNode gpu = manifest("sparkapplication-gpu.yaml").path("spec");
        assertEquals("1", gpu.path("sparkConf").path("spark.executor.resource.gpu.amount").asText());
        assertEquals("nvidia.com/gpu", gpu.path("executor").path("gpu").path("name").asText());
        assertEquals(1, gpu.path("executor").path("gpu").path("quantity").asInt());
        assertEquals("/opt/anneal/gpu/discover-gpus.sh",
                gpu.path("sparkConf").path("spark.executor.resource.gpu.discoveryScript").asText());
    }

    /** A Spark properties template: "key value" lines, # comments. */
    static Map<String, String> properties(Path file) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] kv = t.split("\\s+", 2);
            assertEquals(2, kv.length, file + ": '" + line + "' is key and value");
            assertFalse(kv[1].contains(" "), file + ": " + kv[0] + "'s value is one word");
            m.put(kv[0], kv[1]);
        }
        return m;
    }

    @Test
    void everyTemplateIsKeyAndOneWordValue() throws IOException {
        for (String f : List.of("secure.conf", "standalone/spark.conf", "yarn/spark.conf", "k8s/spark.conf",
                "k8s/gpu.conf")) {
            Map<String, String> p = properties(REPO.resolve("deploy").resolve(f));
            assertFalse(p.isEmpty(), f);
            p.keySet().forEach(k -> assertTrue(k.startsWith("spark."), f + ": " + k + " is a Spark property"));
        }
        assertEquals("cluster", properties(REPO.resolve("deploy/yarn/spark.conf")).get("spark.submit.deployMode"));
        assertEquals("cluster", properties(REPO.resolve("deploy/k8s/spark.conf")).get("spark.submit.deployMode"));
    }

    @Test
    void redactionHidesSecretKeysAndOnlyThose() throws IOException {
        Map<String, String> secure = properties(REPO.resolve("deploy/secure.conf"));
        Pattern keys = Pattern.compile(secure.get("spark.redaction.regex"));
        for (String secret : List.of("spark.authenticate.secret", "spark.ssl.keyPassword",
                "spark.hadoop.fs.s3a.secret.key", "spark.hadoop.fs.s3a.access.key", "fs.s3a.session.token",
                "spark.hadoop.fs.azure.account.key.x.blob.core.windows.net", "spark.kerberos.keytab",
                "spark.executorEnv.AWS_SECRET_ACCESS_KEY", "spark.hadoop.fs.gs.auth.service.account.private.key",
                "AWS_SESSION_TOKEN", "ingest.s3.secretKey", "ingest.http.password", "registry.token",
                "hub.credentials")) {
            assertTrue(keys.matcher(secret).find(), "spark.redaction.regex hides " + secret);
        }
        List<String> plain = new ArrayList<>(List.of("spark.executor.memory", "spark.master", "spark.app.name",
                "spark.executor.extraJavaOptions", "spark.kubernetes.container.image", "spark.authenticate"));
        for (ConfigField f : PretrainConfig.SCHEMA.fields()) {
            plain.add(f.key());
        }
        for (ConfigField f : FinetuneConfig.SCHEMA.fields()) {
            plain.add(f.key());
        }
        for (String key : plain) {
            assertFalse(keys.matcher(key).find(), "spark.redaction.regex leaves " + key + " readable");
        }
        Pattern text = Pattern.compile(secure.get("spark.redaction.string.regex"));
        String command = "dev.anneal.jobs.Main pretrain --set ingest.s3.secretKey=AbC/12+x --set training.epochs=3"
                + " --set hub.token=t0k3n,x --input s3a://c/s";
        String redacted = text.matcher(command).replaceAll("*********(redacted)");
        assertFalse(redacted.contains("AbC/12+x") || redacted.contains("t0k3n"), redacted);
        assertTrue(redacted.contains("--set training.epochs=3") && redacted.contains("--input s3a://c/s"), redacted);
    }
}

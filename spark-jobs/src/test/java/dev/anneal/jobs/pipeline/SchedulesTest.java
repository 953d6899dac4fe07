package dev.anneal.jobs.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.jobs.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The schedules under deploy/schedules call the command this build has: the Airflow DAG compiles (python3; Airflow
 * itself is not installed, so its imports are not resolved) and passes runId={{ ds }}, the CronJob parses as YAML,
 * the cron line and the CronJob's script pass {@code bash -n}; main class, jar name, JVM flags and config keys are
 * the build's.
 */
class SchedulesTest {
    private static final Path SCHEDULES = Path.of("..", "deploy", "schedules").toAbsolutePath().normalize();
    private static final String JAR = "anneal-jobs.jar";

    @TempDir
    Path dir;

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command + " did not finish");
        assertEquals(0, p.exitValue(), command + ":\n" + out);
        return out;
    }

    /** The keys each schedule sets with --set exist in the pipeline config. */
    private static void setsKnownKeys(String text, String where) {
        Matcher m = Pattern.compile("--set[\"', ]+([A-Za-z.]+)=").matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
            String key = m.group(1);
            assertTrue(PipelineConfig.SCHEMA.fields().stream().anyMatch(f -> f.key().equals(key)),
                    where + " sets unknown pipeline key " + key);
        }
        assertTrue(n > 0, where + " passes no --set");
    }

    @Test
    void theAirflowDagCompilesAndSubmitsThePipelineWithTheRunDate() throws Exception {
        Path dag = SCHEDULES.resolve("airflow/anneal_pipeline.py");
        run(List.of("python3", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], "
                + "doraise=True)", dag.toString(), dir.resolve("dag.pyc").toString()));
        String text = Files.readString(dag);
        assertTrue(text.contains("SparkSubmitOperator(") && text.contains("\"runId={{ ds }}\"")
                && text.contains("\"pipeline\",") && text.contains("max_active_runs=1"), text);
        assertTrue(text.contains("ANNEAL_MAIN_CLASS = \"" + Main.class.getName() + "\""));
        assertTrue(text.contains("/" + JAR + "\""));
        setsKnownKeys(text, dag.toString());
        // A filtered resource of this module: the parent pom's anneal.jvm.options.
        Path options = Path.of("target", "classes", "anneal-jvm-options.txt");
        assertTrue(text.contains("JVM_OPTIONS = \"" + Files.readString(options).trim() + "\""),
                "the DAG's JVM_OPTIONS are the build's " + options.toAbsolutePath());
    }

    @Test
    void theCronJobParsesAndItsScriptSubmitsThePipeline() throws Exception {
        Path file = SCHEDULES.resolve("kubernetes/cronjob.yaml");
        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        assertEquals("batch/v1", doc.path("apiVersion").asText());
        assertEquals("CronJob", doc.path("kind").asText());
        assertEquals("Forbid", doc.path("spec").path("concurrencyPolicy").asText());
        assertEquals(5, doc.path("spec").path("schedule").asText().split(" ").length);
        JsonNode container = doc.path("spec").path("jobTemplate").path("spec").path("template").path("spec")
                .path("containers").get(0);
        String script = container.path("args").get(0).asText();
        assertTrue(script.contains("--class " + Main.class.getName()) && script.contains("/" + JAR + " \\")
                && script.contains("pipeline --config"), script);
        setsKnownKeys(script, file.toString());
        run(List.of("bash", "-n", "-c", script));
    }

    @Test
    void theCronLineIsACronDEntryOfValidBash() throws Exception {
        Path file = SCHEDULES.resolve("cron/anneal-pipeline.cron");
        List<String> entries = Files.readAllLines(file).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#") && !l.matches("[A-Z_]+=.*")).toList();
        assertEquals(1, entries.size(), entries.toString());
        String[] fields = entries.get(0).split("\\s+", 7);
        assertEquals(7, fields.length, "five time fields, the user, the command");
        for (int i = 0; i < 5; i++) {
            assertTrue(fields[i].matches("[0-9*/,-]+"), "time field " + (i + 1) + ": " + fields[i]);
        }
        String command = fields[6];
        assertTrue(!command.replace("\\%", "").contains("%"), "an unescaped % ends a cron command: " + command);
        assertTrue(command.contains("bin/anneal pipeline --config"), command);
        setsKnownKeys(command, file.toString());
        run(List.of("bash", "-n", "-c", command.replace("\\%", "%")));
    }
}

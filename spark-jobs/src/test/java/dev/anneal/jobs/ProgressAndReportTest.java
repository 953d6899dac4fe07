package dev.anneal.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.jobs.report.RunReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short real pretraining and fine-tuning in local[2]: each writes metrics.jsonl as it goes (start, progress lines
 * within epochs, epochs, checkpoints, end) and report.html at its end; a headless Chromium loads each report with
 * no console message, and its charts hold curves with points.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ProgressAndReportTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SAMPLES = Path.of("..", "data-samples").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void jobsLogProgressToMetricsJsonlAndWriteReportsThatRenderInChromium() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        for (String f : List.of("sotu-1790-washington.txt", "sotu-1941-roosevelt.txt")) {
            Files.copy(SAMPLES.resolve("text").resolve(f), corpus.resolve(f));
        }
        Path lm = dir.resolve("lm");
        // Averaging every 2 minibatches: each Spark task of an epoch ends early, so the driver sees the counts grow
        // while the epoch runs, and a progress line every second has something to say.
        PretrainJob.run(PretrainConfig.SCHEMA.load(null, List.of("input=" + corpus, "output=" + lm,
                "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=32", "training.epochs=2",
                "training.batchSize=32", "training.averagingFrequency=2", "progress.intervalSeconds=1")), false);

        List<JsonNode> events = events(lm.resolve("metrics.jsonl"));
        assertEquals("start", events.get(0).path("event").asText());
        assertEquals("pretrain", events.get(0).path("job").asText());
        assertEquals(32, events.get(0).path("config").path("windowLength").asInt(), events.get(0).toString());
        assertEquals("end", events.get(events.size() - 1).path("event").asText());
        assertEquals("done", events.get(events.size() - 1).path("status").asText());
        List<JsonNode> epochs = named(events, "epoch");
        assertEquals(2, epochs.size(), "one epoch event per epoch: " + events);
        long minibatches = epochs.get(0).path("step").asLong();
        for (JsonNode e : epochs) {
            assertTrue(e.path("trainLoss").asDouble() > 0 && e.path("validationLoss").asDouble() > 0, e.toString());
            double ratio = e.path("trainLoss").asDouble() / e.path("validationLoss").asDouble();
            assertTrue(ratio > 0.5 && ratio < 2, "training loss per character like the validation loss: " + e);
            assertTrue(e.path("samplesPerSecond").asDouble() > 0, e.toString());
            // Parameter averaging in rounds of at most 2 minibatches per worker: none may be left out.
            assertEquals(e.path("minibatchesInEpoch").asLong(), e.path("minibatches").asLong(),
                    "every minibatch dealt was fitted: " + e);
            assertTrue(e.path("elapsedSeconds").asDouble() >= e.path("epochSeconds").asDouble(), e.toString());
        }
        assertEquals(0.0, epochs.get(1).path("etaSeconds").asDouble(), "nothing left after the last epoch");
        assertTrue(epochs.get(0).path("etaSeconds").asDouble() > 0, epochs.get(0).toString());
        List<JsonNode> progress = named(events, "progress");
        assertFalse(progress.isEmpty(), "progress lines within the epochs (interval 1 s): " + events);
        boolean partway = false;
        for (JsonNode p : progress) {
            long done = p.path("minibatches").asLong();
            assertEquals(minibatches, p.path("minibatchesInEpoch").asLong(), p.toString());
            assertTrue(done <= minibatches, p.toString());
            if (done > 0 && done < minibatches) {
                partway = true;
                assertTrue(p.path("trainLoss").isNumber() || p.path("trainLoss").isNull(), p.toString());
                assertTrue(p.path("samples").asLong() > 0 && p.path("etaSeconds").asDouble() > 0, p.toString());
            }
        }
        assertTrue(partway, "a progress line saw an epoch part-way done: " + progress);
        assertEquals(2, named(events, "checkpoint").size());

        checkReport(lm, "loss-chart");
        String page = Files.readString(lm.resolve(RunReport.FILE));
        assertTrue(page.contains("step-" + minibatches) && page.contains("step-" + 2 * minibatches)
                && page.contains("(LATEST)"), "the checkpoint list");
        Path first = lm.resolve("checkpoints/step-" + minibatches);
        long bytes = Files.size(first.resolve("model.zip")) + Files.size(first.resolve("vocab.json"));
        assertTrue(page.contains("<td>" + String.format("%.2f MB", bytes / 1e6) + "</td>"),
                "a checkpoint's size, the files its manifest lists: " + bytes + " bytes");

        Path spam = dir.resolve("spam");
        // 300 of the e-mails, short: the figures only need to exist and be drawn.
        Path emails = dir.resolve("emails.jsonl");
        Files.write(emails, Files.readAllLines(SAMPLES.resolve("spam/emails.jsonl")).subList(0, 300));
        FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, List.of("input=" + emails,
                "output=" + spam, "checkpoint=" + lm, "text.maxLength=64", "training.epochs=2",
                "progress.intervalSeconds=1")), false, false);
        List<JsonNode> tuned = events(spam.resolve("metrics.jsonl"));
        assertEquals(2, named(tuned, "epoch").size(), tuned.toString());
        assertTrue(named(tuned, "epoch").get(1).path("validationF1").isNumber(), tuned.toString());
        JsonNode end = tuned.get(tuned.size() - 1);
        assertEquals("done", end.path("status").asText());
        assertTrue(end.path("test").path("confusion").has("tp"), end.toString());
        String dom = checkReport(spam, "loss-chart", "validation-chart");
        JsonNode confusion = JSON.readTree(spam.resolve("metrics.json").toFile()).path("test").path("confusion");
        assertTrue(dom.replaceAll("\\s+", "").contains("<th>actual1</th><td>" + confusion.path("tp").asLong()
                + "</td><td>" + confusion.path("fn").asLong() + "</td>"), "the confusion matrix's counts");

        // anneal report rewrites it from the files alone, and names what it wrote.
        Files.delete(lm.resolve(RunReport.FILE));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"report", lm.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains(RunReport.FILE));
        checkReport(lm, "loss-chart");
        assertEquals(3, Main.run(new String[] {"report", dir.resolve("nothing").toString()}, System.out,
                new PrintStream(err, true, StandardCharsets.UTF_8)), "a missing run directory is bad input");
        assertEquals(2, Main.run(new String[] {"report"}, System.out, new PrintStream(err, true,
                StandardCharsets.UTF_8)), "no run directory is a usage error");
    }

    private static final Pattern POLYLINE = Pattern.compile("<polyline ([^>]*)>");

    /**
     * Loads the run's report in Chromium: the page logs nothing to the console, its script runs to the end, every
     * chart draws series of two or more points inside it, and the loss chart (the first) has a curve that rises or
     * falls (a fine-tuning's validation accuracy may well stay put for two epochs). Returns the DOM.
     */
    private String checkReport(Path run, String... charts) throws IOException, InterruptedException {
        HeadlessChromium.Page page = HeadlessChromium.load(run.resolve(RunReport.FILE), dir);
        assertTrue(page.console().isEmpty(), "console messages: " + page.console());
        String dom = page.dom();
        assertTrue(dom.contains("data-rendered=\"ok\""), "the page's script ran to its end:\n" + page.log());
        for (String chart : charts) {
            int at = dom.indexOf("id=\"" + chart + "\"");
            assertTrue(at > 0, chart + " is on the page");
            String svg = dom.substring(at, dom.indexOf("</svg>", at));
            Matcher m = POLYLINE.matcher(svg);
            int series = 0;
            int curves = 0;
            while (m.find()) {
                String points = attribute(m.group(1), "points");
                String[] pairs = points.trim().split("\\s+");
                double minY = Double.MAX_VALUE;
                double maxY = -Double.MAX_VALUE;
                for (String pair : pairs) {
                    String[] xy = pair.split(",");
                    double x = Double.parseDouble(xy[0]);
                    double y = Double.parseDouble(xy[1]);
                    assertTrue(x >= 0 && x <= 720 && y >= 0 && y <= 320, chart + ": point " + pair + " in the chart");
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
                assertTrue(pairs.length >= 2, chart + ": a series of two or more points: " + m.group());
                series++;
                if (maxY - minY > 1) {
                    curves++;
                }
            }
            assertTrue(series >= 1, chart + " draws a series: " + svg);
            if (chart.equals(charts[0])) {
                assertTrue(curves >= 1, chart + " draws a curve that rises or falls: " + svg);
            }
        }
        return dom;
    }

    private static String attribute(String attrs, String name) {
        Matcher m = Pattern.compile("\\b" + name + "=\"([^\"]*)\"").matcher(attrs);
        assertTrue(m.find(), name + " in " + attrs);
        return m.group(1);
    }

    private static List<JsonNode> events(Path jsonl) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(jsonl)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private static List<JsonNode> named(List<JsonNode> events, String name) {
        return events.stream().filter(e -> name.equals(e.path("event").asText())).toList();
    }
}

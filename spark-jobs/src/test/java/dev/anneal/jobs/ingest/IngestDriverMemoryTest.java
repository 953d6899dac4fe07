package dev.anneal.jobs.ingest;

import dev.anneal.jobs.LocalSpark;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver never holds records: every byte a task hands back to the driver is counted (Spark's task result size),
 * and ingesting a corpus must hand back a small fraction of it, only counts and the vocabulary. A control collects the
 * same corpus's lines to show that the meter sees records when they are collected.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IngestDriverMemoryTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    Path dir;

    /** Sums the serialized results of the tasks that end while it listens. */
    static final class ResultBytes extends SparkListener {
        final AtomicLong bytes = new AtomicLong();
        volatile boolean on;

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (on && end.taskMetrics() != null) {
                bytes.addAndGet(end.taskMetrics().resultSize());
            }
        }
    }

    @Test
    void ingestHandsTheDriverCountsNotRecords() throws IOException {
        Path raw = dir.resolve("raw");
        Files.createDirectories(raw);
        Random rnd = new Random(3);
        String letters = "abcdefghijklmnopqrstuvwxyz      ,.";
        for (int f = 0; f < 4; f++) {
            try (Writer w = Files.newBufferedWriter(raw.resolve("part-" + f + ".txt"), StandardCharsets.UTF_8)) {
                for (int line = 0; line < 6000; line++) {
                    for (int c = 0; c < 120; c++) {
                        w.write(letters.charAt(rnd.nextInt(letters.length())));
                    }
                    w.write('\n');
                }
            }
        }
        long corpus = 4L * 6000 * 121;
        ResultBytes meter = new ResultBytes();
        SPARK.session().sparkContext().addSparkListener(meter);
        try {
            meter.on = true;
            long lines = SPARK.context().textFile(raw.toString()).collect().size();
            meter.on = false;
            assertEquals(24000, lines);
            long collected = meter.bytes.getAndSet(0);
            assertTrue(collected > corpus / 2, "the control collects the records and the meter sees it: "
                    + collected + " bytes of a " + corpus + "-byte corpus");

            meter.on = true;
            IngestJob.Result r = IngestFixtures.ingest(raw.toString(), dir.resolve("ds").toString(), false,
                    "shard.targetMegabytes=4", "partitions=4");
            meter.on = false;
            assertEquals(24000, r.slice().goodRecords());
            long ingested = meter.bytes.get();
            assertTrue(ingested < corpus / 20, "ingest handed the driver " + ingested + " bytes for a " + corpus
                    + "-byte corpus; it must see counts and the vocabulary, not records");
        } finally {
            SPARK.session().sparkContext().removeSparkListener(meter);
        }
    }
}

package dev.anneal.jobs.ingest;

import dev.anneal.core.AnnealException;
import dev.anneal.core.InputException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.LocalSpark;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static dev.anneal.jobs.ingest.IngestFixtures.gzip;
import static dev.anneal.jobs.ingest.IngestFixtures.ingest;
import static dev.anneal.jobs.ingest.IngestFixtures.utf8;
import static dev.anneal.jobs.ingest.IngestFixtures.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad records of every source kind land in quarantine/ with their reason and place, counted exactly. */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IngestQuarantineTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    Path dir;

    @Test
    void plainTextWithPlantedBadLines() throws IOException {
        String first = "The quick brown fox jumps over the lazy dog.\n";
        byte[] invalid = {'b', 'a', 'd', ' ', (byte) 0xff, (byte) 0xfe, ' ', 'u', 't', 'f', '\n'};
        write(dir.resolve("raw/a.txt"), utf8(first), utf8("\n   \n"), invalid, utf8("has a NUL \0 byte\n"),
                utf8("x".repeat(50) + "\n"), utf8("A second good line.\n"));
        write(dir.resolve("raw/b.txt.gz"), gzip(utf8("one\ntwo\nthree\n")));
        Path out = dir.resolve("ds");
        IngestJob.Result r = ingest(dir.resolve("raw").toString(), out.toString(), false,
                "record.maxLength=48", "record.overlong=quarantine", "maxBadFraction=0.5");

        DatasetManifest.Slice s = r.slice();
        assertEquals(5, s.goodRecords());
        assertEquals(3, s.badRecords());
        assertEquals(2, s.blankLines(), "an empty and a whitespace-only line");
        assertEquals(Map.of("invalid UTF-8", 1L, "binary content", 1L, "over-long record", 1L), s.badByReason());
        List<Row> q = IngestFixtures.quarantine(SPARK.session(), out, 0);
        assertEquals(3, q.size());
        Map<String, Long> offsets = new TreeMap<>();
        for (Row row : q) {
            assertTrue(row.<String>getAs("source").endsWith("/raw/a.txt"), row.toString());
            offsets.put(SliceSummary.reasonKey(row.getAs("reason")), row.getAs("offset"));
        }
        long invalidAt = utf8(first + "\n   \n").length;
        assertEquals(Map.of("invalid UTF-8", invalidAt, "binary content", invalidAt + invalid.length,
                "over-long record", invalidAt + invalid.length + utf8("has a NUL \0 byte\n").length), offsets);
        assertEquals(5, r.shards().stream().mapToLong(DatasetManifest.Shard::rows).sum());
        CharVocabulary v = IngestFixtures.vocabulary(out);
        List<String> texts = IngestFixtures.rows(SPARK.session(), out).stream()
                .map(row -> IngestFixtures.decode(v, row)).sorted().toList();
        assertEquals(List.of("A second good line.", "The quick brown fox jumps over the lazy dog.", "one", "three",
                "two"), texts);
    }

    @Test
    void overLongRecordsKeptAreCountedWithWhatTheyLost() throws IOException {
        String shortLine = "short line";
        String medium = "abcdefghijklmnopqrstuvwxy";
        String longLine = "0123456789".repeat(6);
        write(dir.resolve("raw/a.txt"), utf8(shortLine + "\n" + medium + "\n" + longLine + "\n"));

        Path cut = dir.resolve("truncated");
        IngestJob.Result t = ingest(dir.resolve("raw").toString(), cut.toString(), false,
                "record.maxLength=20", "record.overlong=truncate");
        assertEquals(3, t.slice().goodRecords());
        assertEquals(0, t.slice().badRecords());
        assertEquals(new DatasetManifest.Overlong(2, 5 + 40, 0, 0), t.slice().overlong());
        assertEquals(t.slice().overlong(), IngestFixtures.manifest(cut).slices().get(0).overlong(),
                "the counts reach manifest.json");
        CharVocabulary v = IngestFixtures.vocabulary(cut);
        assertEquals(List.of(longLine.substring(0, 20), medium.substring(0, 20), shortLine),
                IngestFixtures.rows(SPARK.session(), cut).stream().map(row -> IngestFixtures.decode(v, row))
                        .sorted().toList());
        assertTrue(IngestJob.describe(t).contains("over-long records: 2 truncated to record.maxLength "
                + "(45 characters cut)"), IngestJob.describe(t));

        Path split = dir.resolve("split");
        IngestJob.Result p = ingest(dir.resolve("raw").toString(), split.toString(), false,
                "record.maxLength=20", "record.overlong=split");
        assertEquals(1 + 2 + 3, p.slice().goodRecords(), "a split record counts once per piece");
        assertEquals(new DatasetManifest.Overlong(0, 0, 2, 5), p.slice().overlong());
        CharVocabulary w = IngestFixtures.vocabulary(split);
        assertEquals(List.of(longLine.substring(0, 20), longLine.substring(20, 40), longLine.substring(40),
                        medium.substring(0, 20), medium.substring(20), shortLine).stream().sorted().toList(),
                IngestFixtures.rows(SPARK.session(), split).stream().map(row -> IngestFixtures.decode(w, row))
                        .sorted().toList(), "every character kept, in pieces of at most 20");
        assertTrue(IngestJob.describe(p).contains("over-long records: 2 split into 5 pieces"), IngestJob.describe(p));
    }

    @Test
    void tooManyBadJsonLinesFailWithTheCountsAndTheQuarantinePath() throws IOException {
        write(dir.resolve("in.jsonl"), utf8("""
                {"text":"hello there","label":1}
                {"text":"a ham message","label":"0"}
                not json at all
                {"label":1}
                {"text":"   ","label":0}
                {"text":"seven","label":7}

                """), new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xc3, '"', '}', '\n'},
                utf8("{\"text\":\"fine\",\"label\":0}\n"));
        Path out = dir.resolve("ds");
        InputException e = assertThrows(InputException.class, () -> ingest(dir.resolve("in.jsonl").toString(),
                out.toString(), false, "source=jsonl", "labelField=label"));
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode());
        Path quarantine = out.resolve("quarantine/slice-00000");
        assertTrue(e.getMessage().contains("5 of 8 records bad"), e.getMessage());
        assertTrue(e.getMessage().contains(quarantine.toString()), e.getMessage());
        assertFalse(Files.exists(out.resolve(DatasetManifest.FILE)), "a failed ingest writes no manifest");
        Map<String, Long> reasons = IngestFixtures.quarantine(SPARK.session(), out, 0).stream()
                .collect(Collectors.groupingBy(row -> SliceSummary.reasonKey(row.getAs("reason")),
                        TreeMap::new, Collectors.counting()));
        assertEquals(Map.of("not valid JSON", 1L, "no text field", 1L, "empty or whitespace-only text", 1L,
                "label outside the declared set", 1L, "invalid UTF-8", 1L), reasons);

        IngestJob.Result r = ingest(dir.resolve("in.jsonl").toString(), out.toString(), true, "source=jsonl",
                "labelField=label", "maxBadFraction=0.7");
        assertEquals(3, r.slice().goodRecords());
        assertEquals(5, r.slice().badRecords());
        assertEquals(1, r.slice().blankLines());
        assertEquals(List.of("0", "1"), r.manifest().labels());
        Map<String, Integer> labels = new TreeMap<>();
        CharVocabulary v = IngestFixtures.vocabulary(out);
        for (Row row : IngestFixtures.rows(SPARK.session(), out)) {
            labels.put(IngestFixtures.decode(v, row), row.getAs("label"));
        }
        assertEquals(Map.of("hello there", 1, "a ham message", 0, "fine", 0), labels);
    }

    @Test
    void spamAssassinLayoutLabelsByGroup() throws IOException {
        Path data = dir.resolve("data");
        write(data.resolve("spam-1/00001.abc.json"), utf8("{\"id\":\"00001\",\"group\":\"spam-1\",\"text\":\"BUY NOW\"}"));
        write(data.resolve("easy-ham-1/00002.def.json"), utf8("{\"id\":\"00002\",\"text\":\"Meeting at noon\"}"));
        write(data.resolve("easy-ham-1/00002.def.txt"), utf8("the .txt twin is not read"));
        write(data.resolve("easy-ham-1/00003.json"), utf8("{\"id\":\"00003\",\"text\":"));
        write(data.resolve("hard-ham-1/00004.json"), new byte[] {0x1f, (byte) 0x8b, 0, 0, 1, 2});
        Path out = dir.resolve("ds");
        IngestJob.Result r = ingest(data.toString(), out.toString(), false, "source=spamassassin",
                "maxBadFraction=0.6");
        assertEquals(2, r.slice().goodRecords());
        assertEquals(Map.of("not valid JSON", 1L, "binary content", 1L), r.slice().badByReason());
        Map<String, Integer> labels = new TreeMap<>();
        for (Row row : IngestFixtures.rows(SPARK.session(), out)) {
            labels.put(row.getAs("id"), row.getAs("label"));
        }
        assertEquals(Map.of("spam-1/00001.abc", 1, "easy-ham-1/00002.def", 0), labels);
    }

    @Test
    void spamAssassinSubjectAndBodyDropTheRoutingHeaders() throws IOException {
        Path data = dir.resolve("data");
        write(data.resolve("spam-1/00001.json"), utf8("{\"text\":\"From a@b.c  Thu Aug 22 2002\\nReturn-Path: "
                + "<a@b.c>\\nSubject: Cheap meds\\n\\nBuy now\\n\"}"));
        write(data.resolve("easy-ham-1/00002.json"), utf8("{\"text\":\"Received: by x\\nTo: y\\n\\nMeeting\"}"));
        write(data.resolve("easy-ham-1/00003.json"), utf8("{\"text\":\"Received: by x\\nTo: y\\n\\n \\n\"}"));
        Path out = dir.resolve("ds");
        IngestJob.Result r = ingest(data.toString(), out.toString(), false, "source=spamassassin",
                "email.text=subject-body", "maxBadFraction=0.5");
        assertEquals(2, r.slice().goodRecords());
        assertEquals(Map.of("empty or whitespace-only text", 1L), r.slice().badByReason(),
                "a message whose subject and body are blank is quarantined, not stored empty");
        CharVocabulary v = IngestFixtures.vocabulary(out);
        Map<String, String> texts = new TreeMap<>();
        for (Row row : IngestFixtures.rows(SPARK.session(), out)) {
            texts.put(row.getAs("id"), IngestFixtures.decode(v, row));
        }
        assertEquals(Map.of("spam-1/00001", "Subject: Cheap meds\n\nBuy now\n", "easy-ham-1/00002", "Meeting"), texts);
        assertEquals("email.text applies to source spamassassin only, got source 'jsonl' with email.text "
                + "'subject-body'", assertThrows(dev.anneal.core.config.ConfigException.class,
                        () -> ingest(data.toString(), dir.resolve("ds2").toString(), false, "source=jsonl",
                                "email.text=subject-body")).getMessage());
    }

    @Test
    void idxImagesWithATruncatedFileAndAnUndeclaredLabel() throws IOException {
        int rows = 3;
        int cols = 2;
        ByteArrayOutputStream images = new ByteArrayOutputStream();
        DataOutputStream di = new DataOutputStream(images);
        di.writeInt(0x803);
        di.writeInt(10);
        di.writeInt(rows);
        di.writeInt(cols);
        for (int i = 0; i < 8; i++) {
            for (int p = 0; p < rows * cols; p++) {
                di.writeByte(i * 10 + p);
            }
        }
        di.writeByte(1);
        ByteArrayOutputStream labels = new ByteArrayOutputStream();
        DataOutputStream dl = new DataOutputStream(labels);
        dl.writeInt(0x801);
        dl.writeInt(10);
        for (int i = 0; i < 10; i++) {
            dl.writeByte(i == 4 ? 12 : i % 10);
        }
        write(dir.resolve("idx/train-images-idx3-ubyte.gz"), gzip(images.toByteArray()));
        write(dir.resolve("idx/train-labels-idx1-ubyte.gz"), gzip(labels.toByteArray()));
        Path out = dir.resolve("ds");
        IngestJob.Result r = ingest(dir.resolve("idx").toString(), out.toString(), false, "source=idx",
                "labels=0,1,2,3,4,5,6,7,8,9", "maxBadFraction=0.5");
        assertEquals(7, r.slice().goodRecords());
        assertEquals(Map.of("corrupt image row", 2L, "label outside the declared set", 1L), r.slice().badByReason());
        assertEquals("image", r.manifest().kind());
        assertEquals(new DatasetManifest.Image(rows, cols), r.manifest().image());
        Map<Long, Integer> byOffset = new TreeMap<>();
        for (Row row : IngestFixtures.rows(SPARK.session(), out)) {
            byte[] pixels = row.getAs("image");
            long offset = row.getAs("offset");
            assertEquals(offset * 10, pixels[0], "row " + offset + "'s pixels");
            byOffset.put(offset, row.getAs("label"));
        }
        assertEquals(Map.of(0L, 0, 1L, 1, 2L, 2, 3L, 3, 5L, 5, 6L, 6, 7L, 7), byOffset);
    }
}

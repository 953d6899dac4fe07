package dev.anneal.jobs.ingest;

import dev.anneal.core.AnnealException;
import dev.anneal.core.InputException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.LocalSpark;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static dev.anneal.jobs.ingest.IngestFixtures.ingest;
import static dev.anneal.jobs.ingest.IngestFixtures.utf8;
import static dev.anneal.jobs.ingest.IngestFixtures.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dataset grows by slices: old records keep their split and shards, the vocabulary stays, a frozen vocabulary
 * refuses a slice it cannot spell; shards are balanced and the same for the same seed; Parquet in, Parquet out.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IngestSlicesTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    Path dir;

    /** {@code n} distinct lines of lowercase words, made from {@code seed}. */
    private static String lines(int n, long seed, String alphabet) {
        Random rnd = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("line ").append(seed).append('-').append(i);
            for (int w = 0; w < 8; w++) {
                sb.append(' ');
                for (int c = 0; c < 1 + rnd.nextInt(7); c++) {
                    sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static final String LATIN = "abcdefghijklmnopqrstuvwxyz";

    @Test
    void aNewSliceKeepsEveryOldRecordsSplitShardsAndVocabulary() throws IOException {
        write(dir.resolve("day1/a.txt"), utf8(lines(400, 1, LATIN)));
        write(dir.resolve("day2/b.txt"), utf8(lines(400, 2, LATIN)));
        write(dir.resolve("day3/c.txt"), utf8(lines(50, 3, "αβγδεζηθικλμνξοπρστυφχψω")));
        Path out = dir.resolve("ds");
        IngestJob.Result first = ingest(dir.resolve("day1").toString(), out.toString(), false,
                "split.validationFraction=0.2", "split.testFraction=0.2");
        Map<String, String> before = IngestFixtures.splits(SPARK.session(), out);
        assertEquals(400, before.size());
        long test = before.values().stream().filter("test"::equals).count();
        assertTrue(test > 40 && test < 120, "about a fifth of 400 records in test: " + test);
        byte[] slice0 = Files.readAllBytes(out.resolve(first.shards().get(0).path()));

        IngestJob.Result second = ingest(dir.resolve("day2").toString(), out.toString(), false);
        assertEquals(1, second.slice().index());
        assertEquals(2, second.manifest().slices().size());
        assertEquals(first.manifest().vocabulary(), second.manifest().vocabulary(), "appended under the vocabulary");
        assertEquals(first.shards(), second.manifest().shards().subList(0, first.shards().size()));
        assertArrayEquals(slice0, Files.readAllBytes(out.resolve(first.shards().get(0).path())), "old shards untouched");
        assertEquals(800, second.manifest().goodRecords());
        Map<String, String> after = IngestFixtures.splits(SPARK.session(), out);
        assertEquals(800, after.size());
        for (Map.Entry<String, String> e : before.entrySet()) {
            assertEquals(e.getValue(), after.get(e.getKey()), "record " + e.getKey() + " kept its split");
        }

        byte[] manifest = Files.readAllBytes(out.resolve(DatasetManifest.FILE));
        InputException e = assertThrows(InputException.class,
                () -> ingest(dir.resolve("day3").toString(), out.toString(), false));
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode());
        assertTrue(e.getMessage().contains("outside the dataset's frozen vocabulary"), e.getMessage());
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve(DatasetManifest.FILE)), "manifest unchanged");

        IngestJob.Result third = ingest(dir.resolve("day3").toString(), out.toString(), false,
                "vocabulary.frozen=false");
        assertTrue(third.slice().oovRate() > 0.5, "the Greek slice is mostly unknown: " + third.slice().oovRate());
        assertEquals(3, IngestFixtures.manifest(out).slices().size());
    }

    @Test
    void shardsAreBalancedAndTheSameForTheSameSeed() throws IOException {
        write(dir.resolve("raw/a.txt"), utf8(lines(800, 5, LATIN)));
        String input = dir.resolve("raw").toString();
        // A small target makes several shards of this small input.
        IngestJob.Result a = ingest(input, dir.resolve("a").toString(), false, "shard.targetMegabytes=0.03",
                "seed=7");
        IngestJob.Result b = ingest(input, dir.resolve("b").toString(), false, "shard.targetMegabytes=0.03",
                "seed=7");
        IngestJob.Result c = ingest(input, dir.resolve("c").toString(), false, "shard.targetMegabytes=0.03",
                "seed=8");
        int n = a.shards().size();
        assertTrue(n >= 4, "shards: " + a.shards());
        for (DatasetManifest.Shard s : a.shards()) {
            assertTrue(s.rows() > 800 / n / 2 && s.rows() < 800 / n * 2, "balanced: " + a.shards());
        }
        assertEquals(a.shards(), b.shards(), "same input and seed, same shard files (sha256 included)");
        Map<String, Integer> shardOfA = shardOf(dir.resolve("a"), a);
        Map<String, Integer> shardOfC = shardOf(dir.resolve("c"), c);
        assertNotEquals(shardOfA, shardOfC, "another seed deals the records otherwise");
        assertEquals(IngestFixtures.splits(SPARK.session(), dir.resolve("a")),
                IngestFixtures.splits(SPARK.session(), dir.resolve("c")), "splits do not depend on the seed");
    }

    private static Map<String, Integer> shardOf(Path dataset, IngestJob.Result r) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < r.shards().size(); i++) {
            for (Row row : SPARK.session().read().parquet(dataset.resolve(r.shards().get(i).path()).toString())
                    .collectAsList()) {
                m.put(row.getAs("id"), i);
            }
        }
        return m;
    }

    @Test
    void parquetInParquetOut() {
        StructType schema = new StructType().add("doc", DataTypes.StringType).add("body", DataTypes.StringType)
                .add("spam", DataTypes.IntegerType);
        List<Row> input = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            input.add(RowFactory.create("doc-" + i, "message number " + i + (i % 3 == 0 ? " win money" : ""),
                    i % 3 == 0 ? 1 : 0));
        }
        input.add(RowFactory.create("doc-null", null, 0));
        input.add(RowFactory.create("doc-bad-label", "text", 5));
        SPARK.session().createDataFrame(input, schema).repartition(3).write().parquet(dir.resolve("in").toString());
        Path out = dir.resolve("ds");
        IngestJob.Result r = ingest(dir.resolve("in").toString(), out.toString(), false, "source=parquet",
                "textField=body", "labelField=spam", "idField=doc", "maxBadFraction=0.05");
        assertEquals(60, r.slice().goodRecords());
        assertEquals(Map.of("no text field", 1L, "label outside the declared set", 1L), r.slice().badByReason());
        // A quarantined row names its file and its row index there: reading that row back finds the bad record.
        Map<String, String> badIds = new HashMap<>();
        for (Row q : SPARK.session().read().parquet(out.resolve(r.slice().quarantine()).toString()).collectAsList()) {
            String file = q.getAs("source");
            long offset = q.getAs("offset");
            List<Row> fileRows = SPARK.session().read().parquet(file).collectAsList();
            assertTrue(offset >= 0 && offset < fileRows.size(), q.toString());
            badIds.put(fileRows.get((int) offset).getAs("doc"), q.getAs("reason"));
        }
        assertEquals(Set.of("doc-null", "doc-bad-label"), badIds.keySet());
        assertTrue(badIds.get("doc-null").startsWith("no text field"), badIds.toString());
        assertEquals("labeled-text", r.manifest().kind());
        CharVocabulary v = IngestFixtures.vocabulary(out);
        List<Row> rows = IngestFixtures.rows(SPARK.session(), out);
        assertEquals(List.of("id", "split", "source", "offset", "label", "tokens"),
                List.of(rows.get(0).schema().fieldNames()));
        Map<String, String> texts = new HashMap<>();
        for (Row row : rows) {
            int i = Integer.parseInt(row.<String>getAs("id").substring(4));
            assertEquals(i % 3 == 0 ? 1 : 0, (int) row.getAs("label"));
            texts.put(row.getAs("id"), IngestFixtures.decode(v, row));
        }
        for (Row in : input.subList(0, 60)) {
            assertEquals(in.getString(1), texts.get(in.getString(0)));
        }
    }

    /**
     * The ingest benchmark's one-thread yardstick writes what ingest writes: given ingest's records, vocabulary, seed,
     * split fractions and shard count, every shard is byte for byte the file ingest made (same sha256).
     */
    @Test
    void oneThreadShardsAreByteForByteIngestsShards() throws IOException {
        Path input = dir.resolve("in/a.txt");
        String text = lines(600, 7, LATIN);
        write(input, utf8(text));
        Path out = dir.resolve("ds");
        ingest(input.toString(), out.toString(), false, "seed=5", "shard.targetMegabytes=0.02",
                "split.validationFraction=0.1", "split.testFraction=0.2");
        DatasetManifest manifest = IngestFixtures.manifest(out);
        int shards = manifest.shards().size();
        assertTrue(shards >= 3, "several shards: " + shards);

        CharVocabulary vocabulary = IngestFixtures.vocabulary(out);
        OneThreadShards loop = new OneThreadShards(shards, 5, 0.1, 0.2);
        String source = new org.apache.hadoop.fs.Path(input.toUri()).toString();
        long offset = 0;
        for (String line : text.split("\n")) {
            loop.add(source, offset, line, vocabulary.encode(line));
            offset += utf8(line).length + 1;
        }
        Path mine = dir.resolve("loop");
        loop.write(new org.apache.hadoop.fs.Path(mine.toUri()), new org.apache.hadoop.conf.Configuration());
        for (int i = 0; i < shards; i++) {
            DatasetManifest.Shard shard = manifest.shards().get(i);
            byte[] bytes = Files.readAllBytes(mine.resolve(String.format("shard-%05d.parquet", i)));
            assertEquals(shard.sha256(), RecordChecks.sha256(bytes), "shard " + i + " (" + shard.rows() + " rows)");
        }
    }
}

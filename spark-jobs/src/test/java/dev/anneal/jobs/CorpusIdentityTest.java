package dev.anneal.jobs;

import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.data.DatasetManifest;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checkpoint cursor's record of which shards an epoch reads, and what a resume does when they changed. */
class CorpusIdentityTest {
    private final Configuration conf = new Configuration();

    private static DatasetManifest.Shard shard(String path, int slice, String sha256) {
        return new DatasetManifest.Shard(path, slice, 100, 1000, sha256);
    }

    private static void writeDataset(Path dir, List<DatasetManifest.Shard> shards) throws Exception {
        List<DatasetManifest.Slice> slices = new ArrayList<>();
        for (int i = 0; i <= shards.stream().mapToInt(DatasetManifest.Shard::slice).max().orElse(0); i++) {
            slices.add(new DatasetManifest.Slice(i, "2026-11-30T00:00:00Z", "text", List.of("file:/raw/" + i), 10,
                    1, 0, Map.of(), 0, 10, 0, "", null));
        }
        DatasetManifest m = new DatasetManifest(DatasetManifest.SCHEMA_VERSION, "text", "t", "t", 42, null,
                List.of(), null, new DatasetManifest.Splits(0.05, 0), slices, shards);
        Files.createDirectories(dir);
        Files.write(dir.resolve(DatasetManifest.FILE), m.toJson());
    }

    @Test
    void aDatasetIsIdentifiedByItsShardsAndTheirContents(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ds");
        writeDataset(dir, List.of(shard("shards/slice-0000/part-0.parquet", 0, "aa"),
                shard("shards/slice-0000/part-1.parquet", 0, "bb")));
        Map<String, Object> day1 = CorpusIdentity.of(dir.toString(), conf);
        assertEquals(List.of("shards/slice-0000/part-0.parquet", "shards/slice-0000/part-1.parquet"),
                day1.get("shards"));
        assertTrue(CorpusIdentity.change(day1, CorpusIdentity.of(dir.toString(), conf)).isEmpty(),
                "the same shards: the cursor's position holds");

        writeDataset(dir, List.of(shard("shards/slice-0000/part-0.parquet", 0, "aa"),
                shard("shards/slice-0000/part-1.parquet", 0, "bb"), shard("shards/slice-0001/part-0.parquet", 1, "cc")));
        Map<String, Object> day2 = CorpusIdentity.of(dir.toString(), conf);
        assertNotEquals(day1.get("sha256"), day2.get("sha256"));
        String why = CorpusIdentity.change(day1, day2).orElseThrow();
        assertTrue(why.contains("2 then, 3 now") && why.contains("added: shards/slice-0001/part-0.parquet"), why);

        writeDataset(dir, List.of(shard("shards/slice-0000/part-0.parquet", 0, "aa"),
                shard("shards/slice-0000/part-1.parquet", 0, "b2")));
        String rewritten = CorpusIdentity.change(day1, CorpusIdentity.of(dir.toString(), conf)).orElseThrow();
        assertTrue(rewritten.contains("the same names, other contents"), rewritten);
    }

    @Test
    void rawTextIsIdentifiedByItsPathAndOlderCursorsNameNothing(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("a.txt"), "text");
        Map<String, Object> raw = CorpusIdentity.of(tmp.toString(), conf);
        assertEquals(Map.of("input", tmp.toString()), raw);
        assertTrue(CorpusIdentity.change(raw, CorpusIdentity.of(tmp.toString(), conf)).isEmpty());
        assertTrue(CorpusIdentity.change(Map.of(), raw).isEmpty(), "a cursor written before it named its data");
    }

    private static CheckpointInfo stoppedAt(long position, Map<String, Object> data) {
        return new CheckpointInfo("pretrain", 25, 1, 42, Map.of(), Map.of(), Map.of(),
                new TrainingLoop.Cursor(2, position, 25).toMap(20, data));
    }

    @Test
    void aResumeContinuesMidEpochOnlyOverTheSameShards(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("ds");
        writeDataset(dir, List.of(shard("shards/slice-0000/part-0.parquet", 0, "aa")));
        Map<String, Object> before = CorpusIdentity.of(dir.toString(), conf);
        TrainingLoop.Cursor same = PretrainJob.cursor(stoppedAt(5, before), 20, before);
        assertEquals(new TrainingLoop.Cursor(2, 5, 25), same);

        writeDataset(dir, List.of(shard("shards/slice-0000/part-0.parquet", 0, "aa"),
                shard("shards/slice-0001/part-0.parquet", 1, "bb")));
        Map<String, Object> after = CorpusIdentity.of(dir.toString(), conf);
        // The same epoch size, so only the shard list can tell that the epoch's order changed.
        TrainingLoop.Cursor changed = PretrainJob.cursor(stoppedAt(5, before), 20, after);
        assertEquals(new TrainingLoop.Cursor(2, 0, 25), changed, "the epoch starts over on other shards");
        assertFalse(changed.position() > 0);
    }
}

package dev.anneal.jobs.ingest;

import dev.anneal.core.task.StableSplit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What ingest does to every good text record after it has been read and encoded, in the calling thread and without
 * Spark: the content id, the seeded shard and the stable split (three SHA-256 digests), then, per shard, the sort by
 * source and offset and the column-by-column Parquet file with its sha256. The ingest benchmark's second yardstick
 * ({@code TokenizerLoop --shards}): it tells the cost of the dataset format itself from the cost of running it on
 * Spark.
 */
public final class OneThreadShards {
    private final long seed;
    private final double validationFraction;
    private final double testFraction;
    private final List<List<Map.Entry<String, ShardWriter.ShardRow>>> shards = new ArrayList<>();

    public OneThreadShards(int shardCount, long seed, double validationFraction, double testFraction) {
        this.seed = seed;
        this.validationFraction = validationFraction;
        this.testFraction = testFraction;
        for (int i = 0; i < shardCount; i++) {
            shards.add(new ArrayList<>());
        }
    }

    /** One good record, its text already encoded to {@code tokens}. */
    public void add(String source, long offset, String text, int[] tokens) {
        String id = RecordChecks.contentId(text);
        int n = shards.size();
        int shard = (int) Math.min(n - 1, Math.floor(StableSplit.unitHash(seed + ":" + id) * n));
        String split = StableSplit.of(id, validationFraction, testFraction).name().toLowerCase();
        shards.get(shard).add(Map.entry(IngestJob.shardKey(shard, source, offset, id),
                new ShardWriter.ShardRow(id, split, source, offset, RawRecord.NO_LABEL, tokens, null)));
    }

    /** Sorts and writes every shard under {@code dir}, then forgets the rows; the bytes written. */
    public long write(Path dir, Configuration conf) throws IOException {
        long bytes = 0;
        for (int i = 0; i < shards.size(); i++) {
            List<Map.Entry<String, ShardWriter.ShardRow>> rows = shards.get(i);
            rows.sort(Map.Entry.comparingByKey(Comparator.naturalOrder()));
            Path file = new Path(dir, String.format("shard-%05d.parquet", i));
            bytes += ShardWriter.write(rows.stream().map(Map.Entry::getValue).iterator(), file, i, true, conf)
                    .bytes();
            rows.clear();
        }
        return bytes;
    }
}

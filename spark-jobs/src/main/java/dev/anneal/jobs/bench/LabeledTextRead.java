package dev.anneal.jobs.bench;

import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.data.TaskRecord;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

import java.util.List;

/**
 * How fast a labeled text dataset becomes fine-tuning's records (read, decoded, persisted and counted, as
 * {@code FinetuneJob} does before its first epoch): decoding each record's whole text, as the job did before, against
 * {@link ShardedCorpus#labeledText(int)}, which takes only the first {@code maxLength} token ids out of Parquet.
 * The two alternate in one JVM, so a busy machine slows both alike.
 *
 * <p>{@code LabeledTextRead DATASET [maxLength] [rounds] [master]}
 */
public final class LabeledTextRead {
    private LabeledTextRead() {
    }

    public static void main(String[] args) {
        String dataset = args[0];
        int maxLength = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        SparkSession spark = SparkSetup.session("bench labeled-text", args.length > 3 ? args[3] : "local[2]");
        ShardedCorpus corpus = ShardedCorpus.open(spark, dataset);
        for (int round = 0; round <= rounds; round++) {
            // Round 0 warms the JVM and the file cache and is not printed.
            double whole = time(wholeText(spark, dataset, corpus), round > 0, "whole text", maxLength);
            double cut = time(corpus.labeledText(maxLength), round > 0, "first " + maxLength, maxLength);
            if (round > 0) {
                System.out.printf("round %d: whole text %.0f records/s, first %d characters %.0f records/s (%.2fx)%n",
                        round, whole, maxLength, cut, cut / whole);
            }
        }
        spark.stop();
    }

    /** The previous way, kept here for comparison: every token id of a record read and decoded. */
    private static JavaRDD<Tuple2<String, LabeledText>> wholeText(SparkSession spark, String dataset,
                                                                 ShardedCorpus corpus) {
        CharVocabulary v = corpus.vocabulary(0);
        String[] paths = corpus.manifest().shards().stream().map(s -> new Path(dataset, s.path()).toString())
                .toArray(String[]::new);
        return spark.read().parquet(paths).select("split", "label", "tokens").javaRDD().map(r -> {
            List<Integer> ids = r.getList(2);
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = ids.get(i);
            }
            return new Tuple2<>(r.getString(0), new LabeledText(v.decode(a), r.getInt(1)));
        });
    }

    /** Records per second from reading to a persisted, counted RDD of fine-tuning's records. */
    private static double time(JavaRDD<Tuple2<String, LabeledText>> text, boolean print, String what,
                               int maxLength) {
        long t0 = System.nanoTime();
        JavaRDD<Tuple2<String, TaskRecord>> records = text
                .map(t -> new Tuple2<>(t._1(), new TaskRecord(t._2().text(), new float[] {t._2().label()})))
                .persist(StorageLevel.MEMORY_AND_DISK());
        long n = records.count();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long chars = records.map(r -> (long) r._2().text().length()).fold(0L, Long::sum);
        long longer = records.filter(r -> r._2().text().length() > maxLength).count();
        records.unpersist(true);
        if (print) {
            System.out.printf("  %-16s %d records (%d longer than %d characters), %d characters kept, %.2f s%n", what,
                    n, longer, maxLength, chars, seconds);
        }
        return n / seconds;
    }
}

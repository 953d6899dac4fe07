package dev.anneal.jobs.data;

import dev.anneal.jobs.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** split.trainExamples: exactly N training records, per class in proportion, the same for the same seed. */
class TrainingSubsetTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    /** 900 records of class 0, 100 of class 1, each with a distinct text, in {@code partitions} partitions. */
    private static JavaRDD<TaskRecord> records(int partitions) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            ids.add(i);
        }
        return SPARK.context().parallelize(ids, partitions).map(i -> new TaskRecord("record " + i,
                new float[] {i % 10 == 0 ? 1 : 0}));
    }

    /** The subset's texts, prefixed by their class ("1:record 10"): Spark's Kryo cannot carry the records back. */
    private static List<String> subset(JavaRDD<TaskRecord> records, int n, long seed) {
        return TrainingSubset.stratified(records, n, seed, TaskRecord::text, r -> String.valueOf(r.target()[0]))
                .map(r -> (int) r.target()[0] + ":" + r.text()).collect();
    }

    private static Set<String> texts(List<String> records) {
        return new HashSet<>(records);
    }

    @Test
    void takesExactlyNPerClassInProportionSeeded() {
        JavaRDD<TaskRecord> records = records(4);
        List<String> fifty = subset(records, 50, 7);
        assertEquals(50, fifty.size());
        assertEquals(50, texts(fifty).size(), "no record twice");
        assertEquals(5, fifty.stream().filter(r -> r.startsWith("1:")).count(), "10 % of 50 from the small class");
        assertEquals(texts(fifty), texts(subset(records, 50, 7)), "the same seed gives the same records");
        assertEquals(texts(fifty), texts(subset(records(3), 50, 7)),
                "the choice depends on the records, not on how they are partitioned");
        assertNotEquals(texts(fifty), texts(subset(records, 50, 8)), "another seed gives other records");
        assertTrue(texts(subset(records, 100, 7)).containsAll(texts(fifty)), "a larger N keeps a smaller one's");
    }

    @Test
    void zeroOrMoreThanTheSplitKeepsItWhole() {
        JavaRDD<TaskRecord> records = records(4);
        assertSame(records, TrainingSubset.stratified(records, 0, 1, TaskRecord::text, r -> ""));
        assertSame(records, TrainingSubset.stratified(records, 1000, 1, TaskRecord::text, r -> ""));
        assertEquals(999, subset(records, 999, 1).size());
    }

    @Test
    void quotasGiveEveryClassOneAndSumToN() {
        Map<String, Long> counts = Map.of("a", 980L, "b", 15L, "c", 5L);
        assertEquals(Map.of("a", 98, "b", 1, "c", 1), TrainingSubset.quotas(counts, 100));
        assertEquals(Map.of("a", 1, "b", 1, "c", 1), TrainingSubset.quotas(counts, 3));
        assertEquals(Map.of("a", 2, "b", 0, "c", 0), TrainingSubset.quotas(Map.of("a", 98L, "b", 1L, "c", 1L), 2));
        Map<String, Integer> q = TrainingSubset.quotas(Map.of("x", 3L, "y", 3L, "z", 3L), 7);
        assertEquals(7, q.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(q.values().stream().allMatch(v -> v == 2 || v == 3), q.toString());
        Set<Long> hashes = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            hashes.add(TrainingSubset.hash(7, "record " + i));
        }
        assertEquals(1000, hashes.size());
    }
}

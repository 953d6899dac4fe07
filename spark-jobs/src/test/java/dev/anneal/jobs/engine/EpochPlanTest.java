package dev.anneal.jobs.engine;

import dev.anneal.jobs.LocalSpark;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An epoch's passes hold every minibatch once, dealt evenly, in an order fixed by seed and epoch alone. */
class EpochPlanTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @Test
    void permutationIsABijectionForAnySize() {
        for (long n : new long[] {1, 2, 3, 7, 64, 1000, 4097}) {
            IndexPermutation p = new IndexPermutation(n, 11);
            Set<Long> seen = new HashSet<>();
            LongStream.range(0, n).forEach(i -> seen.add(p.apply(i)));
            assertEquals(n, seen.size(), "n=" + n);
            assertTrue(seen.stream().allMatch(x -> x >= 0 && x < n), "n=" + n);
        }
        IndexPermutation a = new IndexPermutation(1000, 1);
        IndexPermutation b = new IndexPermutation(1000, 2);
        long same = LongStream.range(0, 1000).filter(i -> a.apply(i) == b.apply(i)).count();
        assertTrue(same < 20, "two seeds give different orders: " + same + " fixed points in common");
    }

    /** Minibatch i holds the single value i, so a pass's contents name themselves. */
    private static JavaRDD<DataSet> numbered(int n, int partitions) {
        List<DataSet> all = IntStream.range(0, n)
                .mapToObj(i -> new DataSet(Nd4j.scalar((float) i).reshape(1, 1), Nd4j.zeros(1, 1)))
                .toList();
        return SPARK.context().parallelize(all, partitions);
    }

    private static List<List<Integer>> workers(JavaRDD<DataSet> pass) {
        return pass.glom().collect().stream()
                .map(part -> part.stream().map(ds -> (int) ds.getFeatures().getFloat(0)).toList())
                .toList();
    }

    @Test
    void passesCoverTheEpochOnceDealtEvenlyAndReproducibly() {
        EpochPlan plan = new EpochPlan(numbered(50, 3), 2, 5);
        assertEquals(50, plan.size());
        assertEquals(50, plan.examples());
        EpochPlan.Epoch epoch = plan.epoch(1, 0, new long[] {10, 20, 35, 50});
        List<Integer> all = new ArrayList<>();
        List<List<List<Integer>>> passes = new ArrayList<>();
        for (int k = 0; k < epoch.passes(); k++) {
            List<List<Integer>> w = workers(epoch.pass(k));
            passes.add(w);
            assertEquals(2, w.size(), "one partition per worker");
            long length = epoch.end(k) - epoch.start(k);
            assertTrue(Math.abs(w.get(0).size() - w.get(1).size()) <= 1, "even deal: " + w);
            assertEquals(length, w.get(0).size() + w.get(1).size());
            w.forEach(all::addAll);
        }
        assertEquals(50, all.size());
        assertEquals(50, new HashSet<>(all).size(), "every minibatch exactly once");
        assertNotEquals(IntStream.range(0, 50).boxed().toList(), all, "the epoch is shuffled");

        // The same plan again, and a resumed epoch, give the same passes.
        EpochPlan.Epoch again = new EpochPlan(numbered(50, 3), 2, 5).epoch(1, 20, new long[] {35, 50});
        assertEquals(passes.get(2), workers(again.pass(0)));
        assertEquals(passes.get(3), workers(again.pass(1)));
        // Another epoch, another order.
        EpochPlan.Epoch second = plan.epoch(2, 0, new long[] {10, 20, 35, 50});
        assertNotEquals(passes.get(0), workers(second.pass(0)));
    }
}

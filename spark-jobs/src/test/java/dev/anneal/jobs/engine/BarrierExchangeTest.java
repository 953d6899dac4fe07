package dev.anneal.jobs.engine;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.jobs.LocalSpark;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The local-sgd engine's barrier exchange: an exchange returns as soon as the last task arrives (not at Spark's next
 * one-second look), hands every task all messages in partition order and leaves no interrupt behind; and where Spark
 * cannot run a barrier stage, auto falls back to per-round jobs while an explicit barrier is refused with the reason.
 */
class BarrierExchangeTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();
    private static final int ROUNDS = 10;
    private static final long LATE_MILLIS = 30;

    interface Exchange extends scala.Function2<Object, scala.collection.Iterator<Integer>,
            scala.collection.Iterator<String>>, Serializable {
    }

    /**
     * Two tasks exchange ten times; partition 1 arrives 30 ms after partition 0 every time, so partition 0 always
     * waits. Waiting out Spark's one-second sleeps would take it at least ten seconds.
     */
    @Test
    void anExchangeEndsWhenTheLastTaskArrivesAndLeavesNoInterrupt() {
        {
            JavaSparkContext sc = SPARK.context();
            JavaRDD<Integer> rdd = sc.parallelize(List.of(0, 1), 2);
            Exchange f = (index, it) -> {
                int partition = (Integer) index;
                BarrierTaskContext context = BarrierTaskContext.get();
                long started = System.nanoTime();
                List<String> seen = new ArrayList<>();
                for (int round = 0; round < ROUNDS; round++) {
                    if (partition == 1) {
                        sleep(LATE_MILLIS);
                    }
                    String[] all = BarrierExchange.allGather(context, partition + ":" + round);
                    if (Thread.currentThread().isInterrupted()) {
                        throw new IllegalStateException("an interrupt was left behind after round " + round);
                    }
                    seen.add(String.join(",", all));
                }
                long millis = (System.nanoTime() - started) / 1_000_000;
                return JavaConverters.asScalaIterator(List.of(partition + "|" + millis + "|"
                        + String.join(";", seen)).iterator());
            };
            ClassTag<String> tag = ClassTag$.MODULE$.apply(String.class);
            RDD<String> out = rdd.rdd().barrier().mapPartitionsWithIndex(f, true, tag);
            List<String> results = JavaRDD.fromRDD(out, tag).collect();
            assertEquals(2, results.size());
            for (String r : results) {
                String[] parts = r.split("\\|");
                long millis = Long.parseLong(parts[1]);
                System.out.printf("barrier exchange: partition %s, %d rounds in %d ms%n", parts[0], ROUNDS, millis);
                assertTrue(millis < ROUNDS * 500L, "partition " + parts[0] + " took " + millis + " ms for " + ROUNDS
                        + " exchanges; Spark's own wait would take about a second each");
                String[] rounds = parts[2].split(";");
                assertEquals(ROUNDS, rounds.length);
                for (int round = 0; round < ROUNDS; round++) {
                    assertEquals("0:" + round + ",1:" + round, rounds[round], "messages in partition order");
                }
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new IllegalStateException("interrupted while arriving late", e);
        }
    }

    private static final long STATE = 6_400_000;

    @Test
    void autoUsesBarrierInLocalModeAndOnSmallClustersAndFallsBackElsewhere() {
        SparkConf conf = new SparkConf(false);
        assertNull(LocalSgdEngine.barrierUnavailable(new SparkConf(false).set("spark.master", "local[64]"), true,
                STATE, 64, false), "local mode, a slot for each worker");
        assertNull(LocalSgdEngine.barrierUnavailable(conf, false, STATE, 2, false), "two workers on a cluster");
        String many = LocalSgdEngine.barrierUnavailable(conf, false, STATE, 9, false);
        assertTrue(many != null && many.contains("9 workers"), many);
        assertNull(LocalSgdEngine.barrierUnavailable(conf, false, STATE, 9, true), "asked for explicitly");

        String crowded = LocalSgdEngine.barrierUnavailable(new SparkConf(false).set("spark.master", "local[2]"),
                true, STATE, 3, true);
        assertTrue(crowded != null && crowded.contains("all 3 workers' tasks at once and local[2] runs 2"), crowded);
        assertEquals(1, LocalSgdEngine.localSlots("local", 1));
        assertEquals(4, LocalSgdEngine.localSlots("local[4,2]", 1));
        assertEquals(2, LocalSgdEngine.localSlots("local[4]", 2));
        assertEquals(Runtime.getRuntime().availableProcessors(), LocalSgdEngine.localSlots("local[*]", 1));

        String dynamic = LocalSgdEngine.barrierUnavailable(new SparkConf(false)
                .set("spark.dynamicAllocation.enabled", "true"), true, STATE, 2, false);
        assertTrue(dynamic != null && dynamic.contains("dynamic allocation"), dynamic);

        // 2 workers x 6.4 MB, at up to two bytes a character, do not fit a 16 MB RPC message.
        String large = LocalSgdEngine.barrierUnavailable(new SparkConf(false)
                .set("spark.rpc.message.maxSize", "16"), false, STATE, 2, true);
        assertTrue(large != null && large.contains("spark.rpc.message.maxSize (16 MB)"), large);
    }

    @Test
    void anExplicitBarrierThatCannotRunIsRefusedAndAutoFallsBack() {
        SparkConf dynamic = new SparkConf(false).set("spark.dynamicAllocation.enabled", "true");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LocalSgdEngine.barrier(
                dynamic, false, TrainingSettings.EXCHANGE_BARRIER, STATE, 2));
        assertTrue(e.getMessage().contains("training.localSgd.exchange is barrier, but Spark's barrier mode does not "
                + "run under dynamic allocation"), e.getMessage());
        assertFalse(LocalSgdEngine.barrier(dynamic, false, TrainingSettings.EXCHANGE_AUTO, STATE, 2));
        assertFalse(LocalSgdEngine.barrier(new SparkConf(false), true, TrainingSettings.EXCHANGE_AGGREGATE, STATE, 2));
        assertTrue(LocalSgdEngine.barrier(new SparkConf(false).set("spark.master", "local[2]"), true,
                TrainingSettings.EXCHANGE_AUTO, STATE, 2));
    }

    /** The sparse exchange needs barrier stages, and its small messages let more workers relay through the driver. */
    @Test
    void theSparseExchangeRunsThroughBarrierStagesOrIsRefusedNamingItsDensity() {
        assertTrue(LocalSgdEngine.sparseBarrier(new SparkConf(false), false, 0.02, 535_818, 64),
                "64 workers' messages of 10,716 entries fit the relay");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LocalSgdEngine.sparseBarrier(
                new SparkConf(false).set("spark.dynamicAllocation.enabled", "true"), false, 0.02, 535_818, 2));
        assertEquals("training.localSgd.density 0.02 needs the barrier exchange, but Spark's barrier mode does not run "
                + "under dynamic allocation (spark.dynamicAllocation.enabled); use density 1", e.getMessage());
    }
}

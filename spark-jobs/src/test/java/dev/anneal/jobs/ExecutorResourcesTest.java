package dev.anneal.jobs;

import dev.anneal.core.config.ExecutorSettings;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What executor JVMs start with, from {@code executor.*} and the Spark settings the user gave. */
class ExecutorResourcesTest {
    private static final long MIB = ExecutorSettings.MIB;

    @Test
    void defaultsFollowTheExecutorHeapAndTaskCores() {
        SparkConf conf = new SparkConf(false).set("spark.executor.memory", "4g").set("spark.task.cpus", "2")
                .set("spark.executor.extraJavaOptions", "--add-opens=java.base/java.nio=ALL-UNNAMED");
        ExecutorResources.Applied applied = ExecutorResources.apply(conf, ExecutorSettings.defaults());

        assertEquals(2, applied.threads(), "one native thread per core a task holds");
        assertEquals("2", conf.get("spark.executorEnv.OMP_NUM_THREADS"));
        assertEquals("PASSIVE", conf.get("spark.executorEnv.OMP_WAIT_POLICY"), "idle native threads sleep");
        assertEquals(2048 * MIB, applied.offHeap(), "half the heap");
        assertEquals("2432m", conf.get("spark.executor.memoryOverhead"), "off-heap + 384m for the JVM itself");
        assertEquals("--add-opens=java.base/java.nio=ALL-UNNAMED -Dorg.bytedeco.javacpp.maxbytes=" + 2048 * MIB
                        + " -Dorg.bytedeco.javacpp.maxphysicalbytes=" + (4096 + 2048 + 384) * MIB,
                conf.get("spark.executor.extraJavaOptions"), "the JVM flags stay, the limits are appended");
    }

    @Test
    void aUserSizedOverheadIsKeptAndBoundsTheOffHeapLimit() {
        SparkConf conf = new SparkConf(false).set("spark.executor.memoryOverhead", "3g")
                .set("spark.executorEnv.OMP_NUM_THREADS", "4");
        ExecutorResources.Applied applied = ExecutorResources.apply(conf, ExecutorSettings.defaults());

        assertEquals("3g", conf.get("spark.executor.memoryOverhead"));
        assertEquals((3072 - 384) * MIB, applied.offHeap());
        assertEquals(4, applied.threads(), "a thread count the user set in Spark's conf is kept");
        assertEquals("4", conf.get("spark.executorEnv.OMP_NUM_THREADS"));
    }

    @Test
    void aWaitPolicyTheUserSetIsKept() {
        SparkConf conf = new SparkConf(false).set("spark.executorEnv.OMP_WAIT_POLICY", "ACTIVE");
        ExecutorResources.apply(conf, ExecutorSettings.defaults());

        assertEquals("ACTIVE", conf.get("spark.executorEnv.OMP_WAIT_POLICY"));
    }

    @Test
    void explicitSettingsWin() {
        SparkConf conf = new SparkConf(false).set("spark.executorEnv.OMP_NUM_THREADS", "4")
                .set("spark.executor.memory", "2g");
        ExecutorResources.Applied applied = ExecutorResources.apply(conf, new ExecutorSettings(1, 5 * 1024 * MIB));

        assertEquals("1", conf.get("spark.executorEnv.OMP_NUM_THREADS"));
        assertEquals(5120 * MIB, applied.offHeap());
        assertEquals("5504m", conf.get("spark.executor.memoryOverhead"));
        assertTrue(applied.toString().contains("off-heap limit 5120m"), applied.toString());
    }
}

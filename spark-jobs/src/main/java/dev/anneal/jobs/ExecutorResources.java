package dev.anneal.jobs;

import dev.anneal.core.config.ExecutorSettings;
import org.apache.spark.SparkConf;
import org.apache.spark.network.util.JavaUtils;

/**
 * Turns {@code executor.*} into the Spark properties that executor JVMs start with: ND4J's native threads
 * ({@code OMP_NUM_THREADS} in the executor environment) and how idle ones wait ({@code OMP_WAIT_POLICY=PASSIVE}:
 * OpenMP threads that spin after each parallel region take the cores from OpenBLAS's and the other tasks' threads;
 * with two native threads DL4J trained the benchmark MLP half as fast when they spun, see
 * {@code docs/BENCHMARKS.md}), JavaCPP's off-heap limits ({@code maxbytes}, {@code maxphysicalbytes}) and a memory
 * overhead that holds them. They must be set before the context starts the
 * executors; in local mode the executor is the driver JVM, which {@code bin/anneal} starts with its own limits.
 */
public final class ExecutorResources {
    /** What the JVM itself needs outside heap and ND4J: metaspace, thread stacks, Netty buffers. */
    static final long JVM_OVERHEAD = 384 * ExecutorSettings.MIB;
    static final String THREADS = "spark.executorEnv.OMP_NUM_THREADS";
    static final String WAIT_POLICY = "spark.executorEnv.OMP_WAIT_POLICY";
    static final String JAVA_OPTIONS = "spark.executor.extraJavaOptions";
    static final String OVERHEAD = "spark.executor.memoryOverhead";

    private ExecutorResources() {
    }

    /** What was decided, for the job's log. */
    public record Applied(int threads, long heap, long offHeap, long maxPhysical, long overhead) {
        @Override
        public String toString() {
            return String.format("executors: %d ND4J thread(s) per task, heap %s, off-heap limit %s (maxbytes), "
                            + "process limit %s (maxphysicalbytes), memory overhead %s", threads, mib(heap),
                    mib(offHeap), mib(maxPhysical), mib(overhead));
        }

        private static String mib(long bytes) {
            return bytes / ExecutorSettings.MIB + "m";
        }
    }

    /** Sets the executor properties on {@code conf}; explicit Spark settings the user gave are kept. */
    public static Applied apply(SparkConf conf, ExecutorSettings settings) {
        int taskCpus = conf.getInt("spark.task.cpus", 1);
        int threads = settings.threadsFor(taskCpus);
        if (settings.threads() > 0 || !conf.contains(THREADS)) {
            conf.set(THREADS, Integer.toString(threads));
        } else {
            threads = Integer.parseInt(conf.get(THREADS).trim());
        }
        if (!conf.contains(WAIT_POLICY)) {
            conf.set(WAIT_POLICY, "PASSIVE");
        }

        long heap = JavaUtils.byteStringAsBytes(conf.get("spark.executor.memory", "1g"));
        long offHeap;
        long overhead;
        if (conf.contains(OVERHEAD)) {
            // The user sized the container; ND4J gets what the JVM does not need of it, unless told otherwise.
            overhead = JavaUtils.byteStringAsMb(conf.get(OVERHEAD)) * ExecutorSettings.MIB;
            offHeap = settings.offHeap() > 0 ? settings.offHeap()
                    : Math.max(256 * ExecutorSettings.MIB, overhead - JVM_OVERHEAD);
        } else {
            offHeap = settings.offHeapFor(heap);
            overhead = offHeap + JVM_OVERHEAD;
            conf.set(OVERHEAD, overhead / ExecutorSettings.MIB + "m");
        }
        long maxPhysical = heap + offHeap + JVM_OVERHEAD;
        String limits = "-Dorg.bytedeco.javacpp.maxbytes=" + offHeap
                + " -Dorg.bytedeco.javacpp.maxphysicalbytes=" + maxPhysical;
        String existing = conf.get(JAVA_OPTIONS, "").trim();
        if (!existing.contains("org.bytedeco.javacpp.maxbytes")) {
            conf.set(JAVA_OPTIONS, existing.isEmpty() ? limits : existing + " " + limits);
        }
        return new Applied(threads, heap, offHeap, maxPhysical, overhead);
    }
}

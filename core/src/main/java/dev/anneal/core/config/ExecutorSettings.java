package dev.anneal.core.config;

import java.util.List;
import java.util.Locale;

/**
 * What each Spark executor JVM gets for ND4J: native threads per task and the off-heap memory JavaCPP may allocate.
 * ND4J keeps parameters, activations and gradients off the Java heap, so an executor's memory is its heap plus this
 * off-heap budget; on YARN and Kubernetes the container must hold both.
 *
 * @param threads native (OpenMP) threads each ND4J operation may use; 0 = {@code spark.task.cpus}, so the tasks of
 *                an executor together use its cores and no more
 * @param offHeap JavaCPP's off-heap limit per executor, in bytes; 0 = half the executor heap, at least 1 GiB
 */
public record ExecutorSettings(int threads, long offHeap) {
    public static final long MIB = 1L << 20;
    public static final long GIB = 1L << 30;

    public ExecutorSettings {
        Require.atLeast("executor.threads", threads, 0);
        Require.atLeast("executor.offHeap", offHeap, 0);
    }

    public static ExecutorSettings defaults() {
        return new ExecutorSettings(0, 0);
    }

    /** Threads per ND4J operation for tasks that each hold {@code taskCpus} cores. */
    public int threadsFor(int taskCpus) {
        return threads > 0 ? threads : Math.max(1, taskCpus);
    }

    /** The off-heap limit for an executor with the given heap. */
    public long offHeapFor(long executorHeap) {
        return offHeap > 0 ? offHeap : Math.max(GIB, executorHeap / 2);
    }

    /**
     * Parses a size as Spark writes them: a number of bytes, or a number with k, m, g or t (powers of 1024);
     * an empty value is 0 (the default).
     */
    public static long parseSize(String key, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty()) {
            return 0;
        }
        if (t.endsWith("b")) {
            t = t.substring(0, t.length() - 1);
        }
        long unit = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> unit = 1L << 10;
            case 'm' -> unit = MIB;
            case 'g' -> unit = GIB;
            case 't' -> unit = 1L << 40;
            default -> unit = 1;
        }
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(digits.trim());
            if (n < 0 || n > Long.MAX_VALUE / unit) {
                throw new NumberFormatException();
            }
            return n * unit;
        } catch (NumberFormatException e) {
            throw new ConfigException(key + " must be a size such as 2g, 512m or 1073741824, got '" + text + "'");
        }
    }

    static List<ConfigField> fields() {
        return List.of(
                ConfigField.integer("executor.threads", 0,
                        "Native threads per ND4J operation on the executors; 0 = spark.task.cpus (the tasks of an "
                                + "executor then use its cores and no more). Local mode: OMP_NUM_THREADS of bin/anneal."),
                ConfigField.string("executor.offHeap", "",
                        "Off-heap memory ND4J may use per executor (JavaCPP's maxbytes), e.g. 4g; empty = half the "
                                + "executor heap, at least 1g. Unless spark.executor.memoryOverhead is set, the "
                                + "executor's overhead becomes this plus 384m, so YARN and Kubernetes size the "
                                + "container for it. Local mode: ANNEAL_OFFHEAP of bin/anneal."));
    }

    static ExecutorSettings from(ConfigValues v) {
        return new ExecutorSettings(v.integer("executor.threads"),
                parseSize("executor.offHeap", v.string("executor.offHeap")));
    }
}

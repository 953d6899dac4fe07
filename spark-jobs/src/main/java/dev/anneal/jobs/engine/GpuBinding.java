package dev.anneal.jobs.engine;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.util.CollectionAccumulator;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;

/**
 * Puts each training task's thread on the GPU Spark gave the task. With resource scheduling
 * ({@code spark.executor.resource.gpu.amount}, {@code spark.task.resource.gpu.amount}) every task carries GPU
 * addresses, the indices that the cluster's discovery script read from {@code nvidia-smi}; ND4J's CUDA backend
 * otherwise hands threads to devices round-robin, so two tasks of one machine could share a GPU while another
 * idles. The binding runs in the task's thread before DL4J builds the worker's network, so the network, its updater
 * and the prefetch thread (which follows its caller's device) live on that GPU.
 *
 * <p>An address is a CUDA device number as the executor sees it (see {@link #ordinal}). Executors should run with
 * {@code CUDA_DEVICE_ORDER=PCI_BUS_ID} so CUDA numbers devices as {@code nvidia-smi} does.
 */
public final class GpuBinding implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String RESOURCE = "gpu";

    /** What one task did with its GPU address. */
    public record Binding(String executor, int partition, String address, int ordinal, String backend,
                          boolean bound) implements Serializable {
        @Override
        public String toString() {
            return "executor " + executor + " partition " + partition + ": gpu " + address + " -> ND4J device "
                    + ordinal + (bound ? " (bound)" : " (" + backend + " backend: nothing to bind)");
        }
    }

    private final CollectionAccumulator<Binding> log;

    GpuBinding(CollectionAccumulator<Binding> log) {
        this.log = log;
    }

    /** Binds the current task's thread, then hands on the partition untouched. */
    public <T> Iterator<T> bind(Iterator<T> partition) {
        TaskContext task = TaskContext.get();
        if (task == null) {
            return partition;
        }
        Map<String, ResourceInformation> resources = task.resourcesJMap();
        ResourceInformation gpu = resources.get(RESOURCE);
        if (gpu == null || gpu.addresses().length == 0) {
            return partition;
        }
        String address = gpu.addresses()[0];
        AffinityManager affinity = Nd4j.getAffinityManager();
        String backend = backendName();
        boolean cuda = backend.equals("cuda");
        int devices = cuda ? affinity.getNumberOfDevices() : Integer.MAX_VALUE;
        int ordinal = ordinal(address, devices);
        if (cuda) {
            affinity.unsafeSetDevice(ordinal);
        }
        SparkEnv env = SparkEnv.get();
        log.add(new Binding(env == null ? "driver" : env.executorId(), task.partitionId(), address, ordinal, backend,
                cuda));
        return partition;
    }

    static String backendName() {
        String name = Nd4j.getBackend().getClass().getName();
        return name.contains("JCublas") || name.toLowerCase(java.util.Locale.ROOT).contains("cuda") ? "cuda" : "cpu";
    }

    /**
     * The ND4J device number for a GPU address Spark gave a task. Addresses are CUDA device numbers as the executor
     * sees them: nvidia-smi's indices, or under {@code CUDA_VISIBLE_DEVICES} the positions 0..n-1 in that list, which
     * is what {@code deploy/gpu/discover-gpus.sh} prints.
     *
     * @param devices devices ND4J sees in this executor
     */
    static int ordinal(String address, int devices) {
        int ordinal;
        try {
            ordinal = Integer.parseInt(address.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("Spark gave this task GPU '" + address + "', which is not a CUDA device "
                    + "number; the discovery script must print indices, as deploy/gpu/discover-gpus.sh does", e);
        }
        if (ordinal < 0 || ordinal >= devices) {
            throw new IllegalStateException("Spark gave this task GPU '" + address + "' but ND4J sees " + devices
                    + " device(s) in this executor (CUDA_VISIBLE_DEVICES="
                    + System.getenv().getOrDefault("CUDA_VISIBLE_DEVICES", "unset") + "); the discovery script and the "
                    + "executor's view of the GPUs must agree");
        }
        return ordinal;
    }
}

package dev.anneal.jobs.engine;

import io.aeron.Aeron;
import io.aeron.driver.status.SystemCounterDescriptor;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerBlockUpdated;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.storage.BlockUpdatedInfo;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.nd4j.parameterserver.distributed.v2.transport.Transport;
import org.nd4j.parameterserver.distributed.v2.transport.impl.AeronUdpTransport;

import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures the bytes an engine moves while it trains, from the driver:
 * <ul>
 *   <li>model broadcast: pieces of Spark broadcasts that executors fetched (DL4J broadcasts parameters and updater
 *       state each averaging round; LZ4-compressed, so Adam's zero state at the start costs little). Local mode
 *       fetches nothing: the executor is the driver.</li>
 *   <li>results: serialized task results and shuffle bytes of the aggregation stages (parameters and updater
 *       state summed across workers): DL4J's training masters', and those whose call site starts with
 *       {@link #MODEL_EXCHANGE} (Anneal's own engines).</li>
 *   <li>transport: bytes the gradient-sharing transport (Aeron UDP) sent and received in the driver JVM, framing
 *       and heartbeats included. DL4J builds its mesh as a star around the driver, so every update passes through
 *       the driver: this is the whole transport's traffic. Zero in local mode, where the workers share one JVM.</li>
 *   <li>data shuffle: the minibatches' own shuffle when the engine balances them over the workers.</li>
 * </ul>
 */
final class TrafficMeter extends SparkListener {
    /** Call sites of Anneal's own engines' model exchange start with this; their stages count as results. */
    static final String MODEL_EXCHANGE = "anneal model exchange";
    private final Map<Integer, String> stageNames = new ConcurrentHashMap<>();
    private final AtomicLong broadcast = new AtomicLong();
    private final AtomicLong results = new AtomicLong();
    private final AtomicLong dataShuffle = new AtomicLong();
    private final SparkContext sc;
    private long transportAtStart;
    private static volatile boolean transportWarned;

    TrafficMeter(SparkContext sc) {
        this.sc = sc;
        sc.addSparkListener(this);
    }

    /** Starts a pass: counts from zero. */
    void start() {
        settle();
        broadcast.set(0);
        results.set(0);
        dataShuffle.set(0);
        transportAtStart = transportBytes();
    }

    /** What the pass since {@link #start()} moved. */
    Traffic stop() {
        settle();
        return new Traffic(broadcast.get(), results.get(), Math.max(0, transportBytes() - transportAtStart),
                dataShuffle.get());
    }

    void close() {
        sc.removeSparkListener(this);
    }

    private void settle() {
        try {
            // Listener events arrive asynchronously; wait until the ones of finished jobs are in.
            sc.listenerBus().waitUntilEmpty();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Spark's listener bus did not drain", e);
        }
    }

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted event) {
        stageNames.put(event.stageInfo().stageId(), event.stageInfo().name());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
        TaskMetrics metrics = event.taskMetrics();
        if (metrics == null) {
            return;
        }
        // A shuffle's bytes are counted once, where they are written. DL4J's training stages also read the pass's
        // minibatches from the engine's deal; that is data, counted when the deal wrote it.
        long shuffled = metrics.shuffleWriteMetrics().bytesWritten();
        String stage = stageNames.getOrDefault(event.stageId(), "");
        if (stage.contains("TrainingMaster") || stage.startsWith(MODEL_EXCHANGE)) {
            results.addAndGet(metrics.resultSize() + shuffled);
        } else {
            dataShuffle.addAndGet(shuffled);
        }
    }

    @Override
    public void onBlockUpdated(SparkListenerBlockUpdated event) {
        BlockUpdatedInfo info = event.blockUpdatedInfo();
        if (info.blockId().isBroadcast() && info.blockId().name().contains("_piece")
                && !"driver".equals(info.blockManagerId().executorId()) && info.storageLevel().isValid()) {
            broadcast.addAndGet(info.memSize() + info.diskSize());
        }
    }

    /** Bytes sent plus received by this JVM's Aeron media driver, or 0 when no transport runs here. */
    static long transportBytes() {
        try {
            ModelParameterServer server = ModelParameterServer.getInstance();
            Transport transport = server.isInitialized() ? server.getTransport() : null;
            if (!(transport instanceof AeronUdpTransport)) {
                return 0;
            }
            Field field = AeronUdpTransport.class.getDeclaredField("aeron");
            field.setAccessible(true);
            Aeron aeron = (Aeron) field.get(transport);
            if (aeron == null || aeron.isClosed()) {
                return 0;
            }
            var counters = aeron.countersReader();
            return counters.getCounterValue(SystemCounterDescriptor.BYTES_SENT.id())
                    + counters.getCounterValue(SystemCounterDescriptor.BYTES_RECEIVED.id());
        } catch (ReflectiveOperationException | RuntimeException e) {
            // A DL4J or Aeron whose internals differ: the figure is missing, training is not affected.
            if (!transportWarned) {
                transportWarned = true;
                LoggerFactory.getLogger(TrafficMeter.class).warn("cannot read the gradient-sharing transport's byte "
                        + "counters ({}); transportBytes will read 0", e.toString());
            }
            return 0;
        }
    }
}

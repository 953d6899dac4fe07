package dev.anneal.jobs.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Bytes one training pass moved between the driver and the executors, by kind; how each is measured is described
 * on {@code TrafficMeter}.
 *
 * @param broadcastBytes   model broadcast pieces fetched by executors
 * @param resultBytes      serialized results and shuffle bytes of the aggregation stages; for local-sgd's barrier
 *                         exchange, also its messages' bytes to and from the driver's barrier coordinator
 * @param transportBytes   the gradient-sharing transport's bytes sent and received through the driver
 * @param dataShuffleBytes the minibatches' own shuffle
 */
public record Traffic(long broadcastBytes, long resultBytes, long transportBytes, long dataShuffleBytes) {
    /** What training itself exchanged: everything but the data shuffle. */
    public long modelBytes() {
        return broadcastBytes + resultBytes + transportBytes;
    }

    public static final Traffic NONE = new Traffic(0, 0, 0, 0);

    /** This traffic with {@code bytes} more results. */
    public Traffic plusResults(long bytes) {
        return new Traffic(broadcastBytes, resultBytes + bytes, transportBytes, dataShuffleBytes);
    }

    /** The traffic of two passes together. */
    public Traffic plus(Traffic o) {
        return new Traffic(broadcastBytes + o.broadcastBytes, resultBytes + o.resultBytes,
                transportBytes + o.transportBytes, dataShuffleBytes + o.dataShuffleBytes);
    }

    /**
     * For metrics.json.
     *
     * @param iterations minibatch steps each worker took in the pass (minibatches / workers)
     */
    public Map<String, Object> toMap(long iterations) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("broadcastBytes", broadcastBytes);
        m.put("resultBytes", resultBytes);
        m.put("transportBytes", transportBytes);
        m.put("modelBytes", modelBytes());
        m.put("dataShuffleBytes", dataShuffleBytes);
        m.put("iterations", iterations);
        m.put("modelBytesPerIteration", iterations > 0 ? modelBytes() / (double) iterations : 0.0);
        return m;
    }
}

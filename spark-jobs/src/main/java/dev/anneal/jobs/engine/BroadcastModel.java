package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A network shipped to the executors once, as DL4J's own serialized form without updater state; each task
 * rebuilds its private copy, so nothing of the driver's network object is captured in a closure.
 */
public final class BroadcastModel implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Broadcasts made by this JVM (a driver). */
    private static final AtomicLong CREATED = new AtomicLong();
    /** Networks rebuilt in this JVM (an executor), by Spark's broadcast id. */
    private static final Map<Long, AtomicLong> LOADS = new ConcurrentHashMap<>();
    private final Broadcast<byte[]> bytes;

    private BroadcastModel(Broadcast<byte[]> bytes) {
        this.bytes = bytes;
    }

    public static BroadcastModel of(JavaSparkContext sc, ComputationGraph graph) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ModelSerializer.writeModel(graph, out, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        CREATED.incrementAndGet();
        return new BroadcastModel(sc.broadcast(out.toByteArray()));
    }

    /** How many networks this JVM has broadcast. */
    public static long created() {
        return CREATED.get();
    }

    /** How many times this JVM rebuilt a network from each broadcast, by broadcast id. */
    public static Map<Long, Long> loads() {
        Map<Long, Long> m = new java.util.TreeMap<>();
        LOADS.forEach((id, n) -> m.put(id, n.get()));
        return m;
    }

    /** Spark's id of the broadcast. */
    public long id() {
        return bytes.id();
    }

    /** A fresh copy of the network, for one task. */
    public ComputationGraph load() {
        LOADS.computeIfAbsent(bytes.id(), id -> new AtomicLong()).incrementAndGet();
        try {
            return ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.value()), false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void destroy() {
        bytes.destroy();
    }
}

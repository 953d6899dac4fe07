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

/**
 * A network shipped to the executors once, as DL4J's own serialized form without updater state; each task
 * rebuilds its private copy, so nothing of the driver's network object is captured in a closure.
 */
public final class BroadcastModel implements Serializable {
    private static final long serialVersionUID = 1L;
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
        return new BroadcastModel(sc.broadcast(out.toByteArray()));
    }

    /** A fresh copy of the network, for one task. */
    public ComputationGraph load() {
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

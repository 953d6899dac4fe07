package dev.anneal.jobs.engine;

import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * The worker networks an executor JVM keeps between the rounds of one {@link LocalSgdEngine}, so a round does not
 * rebuild its network from the broadcast model (which costs more than a few minibatch steps of a small network).
 * Nothing depends on what a kept network holds: every round overwrites its parameters, updater state and step count
 * from the round's broadcast, so a task that Spark retries, or runs on another executor, trains exactly the same.
 * A network is taken for the length of one task and given back, so two attempts of one partition never share one.
 * Only the networks of the engine that last asked are kept: an executor trains for one engine at a time.
 */
final class WorkerNetworks {
    private static final Map<String, Queue<ComputationGraph>> FREE = new ConcurrentHashMap<>();

    private WorkerNetworks() {
    }

    /** A network for one task of {@code engine}: a kept one, or a new one from {@code build}. */
    static ComputationGraph take(String engine, Supplier<ComputationGraph> build) {
        FREE.keySet().removeIf(other -> !other.equals(engine));
        ComputationGraph kept = FREE.computeIfAbsent(engine, e -> new ConcurrentLinkedQueue<>()).poll();
        return kept != null ? kept : build.get();
    }

    /** Gives back a network after a task that finished normally. */
    static void give(String engine, ComputationGraph network) {
        Queue<ComputationGraph> free = FREE.get(engine);
        if (free != null) {
            free.add(network);
        }
    }

    /** Drops the networks kept for {@code engine} in this JVM (the driver's, which in local mode runs the tasks). */
    static void forget(String engine) {
        FREE.remove(engine);
    }

    /** Networks kept for {@code engine} in this JVM. */
    static int kept(String engine) {
        Queue<ComputationGraph> free = FREE.get(engine);
        return free == null ? 0 : free.size();
    }
}

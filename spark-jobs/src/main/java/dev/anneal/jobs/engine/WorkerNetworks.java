package dev.anneal.jobs.engine;

import dev.anneal.core.net.ChainTrainer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger LOG = LoggerFactory.getLogger(WorkerNetworks.class);
    private static final Map<String, Queue<Worker>> FREE = new ConcurrentHashMap<>();

    private WorkerNetworks() {
    }

    /**
     * A kept network and its {@link ChainTrainer}, made on first use and kept with it: the trainer works on views
     * of the network's arrays, which stay the same objects from round to round (a round assigns into them).
     */
    static final class Worker {
        final ComputationGraph network;
        private ChainTrainer trainer;
        private boolean trainerChecked;

        Worker(ComputationGraph network) {
            this.network = network;
        }

        /** The network's trainer (ChainTrainer), or null when it trains through DL4J's {@code fit}. */
        ChainTrainer trainer() {
            if (!trainerChecked || (trainer != null && !trainer.isCurrent())) {
                trainer = ChainTrainer.forNetwork(network);
                if (!trainerChecked) {
                    LOG.info("local-sgd worker network: steps through {}", trainer != null ? "Anneal's trainer"
                            : "DL4J's fit (" + (ChainTrainer.disabled() ? ChainTrainer.DISABLE_ENV + "=off"
                            : ChainTrainer.unsupportedReason(network)) + ")");
                }
                trainerChecked = true;
            }
            return trainer;
        }
    }

    /** A network for one task of {@code engine}: a kept one, or a new one from {@code build}. */
    static Worker take(String engine, Supplier<ComputationGraph> build) {
        FREE.keySet().removeIf(other -> !other.equals(engine));
        Worker kept = FREE.computeIfAbsent(engine, e -> new ConcurrentLinkedQueue<>()).poll();
        return kept != null ? kept : new Worker(build.get());
    }

    /** Gives back a network after a task that finished normally. */
    static void give(String engine, Worker worker) {
        Queue<Worker> free = FREE.get(engine);
        if (free != null) {
            free.add(worker);
        }
    }

    /** Drops the networks kept for {@code engine} in this JVM (the driver's, which in local mode runs the tasks). */
    static void forget(String engine) {
        FREE.remove(engine);
    }

    /** Networks kept for {@code engine} in this JVM. */
    static int kept(String engine) {
        Queue<Worker> free = FREE.get(engine);
        return free == null ? 0 : free.size();
    }
}

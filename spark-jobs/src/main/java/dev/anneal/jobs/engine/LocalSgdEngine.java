package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * Anneal's own local SGD (periodic model averaging; Zinkevich et al. 2010, Lin et al. 2020 "Don't use large
 * mini-batches, use local SGD"), on Spark's primitives only: each round is one Spark job whose tasks each train a
 * worker network on the next {@code training.averagingFrequency} minibatches of their partition, starting from the
 * round's broadcast parameters and updater state; {@code treeAggregate} sums the workers' parameters and updater
 * state, and the driver divides by the workers that trained. Spark schedules and retries the tasks; a retried task
 * starts again from the round's broadcast, so it trains exactly what the first attempt would have.
 *
 * <p>What makes it fast where DL4J's parameter averaging is not: the pass's minibatches are dealt to {@code workers}
 * partitions and cached executor-side as objects once, and every round reads its minibatches from that cache in the same
 * executor (no re-serialization, no re-dealing per round); each executor keeps its worker networks between rounds
 * ({@link WorkerNetworks}), so a round costs one broadcast of parameters and updater state and one aggregation.
 *
 * <p>The working copy stays cached while the caller passes the same RDD pass after pass (the jobs do), so each
 * worker keeps its share of the minibatches across passes; their order is drawn anew every pass. It is released
 * when another RDD comes or the engine closes.
 */
public final class LocalSgdEngine implements TrainingEngine {
    private static final Logger LOG = LoggerFactory.getLogger(LocalSgdEngine.class);
    /** The call site of the rounds' jobs, which {@link TrafficMeter} counts as model traffic. */
    static final String ROUND_STAGE = TrafficMeter.MODEL_EXCHANGE + ": local-sgd round";

    private final JavaSparkContext sc;
    private final ComputationGraph network;
    private final int workers;
    private final int steps;
    private final boolean reshuffle;
    private final String id = UUID.randomUUID().toString();
    private final BroadcastModel model;
    private final Random passSeeds;
    private final CollectionAccumulator<GpuBinding.Binding> bindings;
    private final TrafficMeter meter;
    private Traffic traffic = Traffic.NONE;
    private JavaRDD<DataSet> working;
    private int workingSource = -1;
    private int[] partitionSizes;
    private double lastScore = Double.NaN;

    public LocalSgdEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        this(sc, network, settings, true);
    }

    /**
     * @param reshuffle draw a new order of each worker's minibatches every pass; {@code false} fits them in the
     *                  caller's order, which the equivalence test against single-JVM training relies on
     */
    public LocalSgdEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings, boolean reshuffle) {
        if (network.params().dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("the local-sgd engine averages float32 networks; this one holds "
                    + network.params().dataType());
        }
        this.sc = sc;
        this.network = network;
        this.workers = settings.workers();
        this.steps = settings.training().averagingFrequency();
        this.reshuffle = reshuffle;
        this.passSeeds = new Random(settings.seed());
        this.model = BroadcastModel.of(sc, network);
        this.bindings = sc.sc().collectionAccumulator("anneal.gpuBindings");
        this.meter = new TrafficMeter(sc.sc());
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
        bindings.reset();
        meter.start();
        try {
            JavaRDD<DataSet> pass = working(minibatches);
            return train(pass, reshuffle ? passSeeds.nextLong() : LocalSgdRound.KEEP_ORDER);
        } finally {
            traffic = meter.stop();
        }
    }

    /**
     * One pass over minibatches already dealt to the workers: partition {@code i} is worker {@code i}'s share, fitted
     * in its order. The pass is cached for its rounds and released after it.
     */
    public ComputationGraph fitPass(JavaRDD<DataSet> dealt) {
        if (dealt.getNumPartitions() != workers) {
            throw new IllegalArgumentException("a dealt pass needs one partition per worker: " + workers
                    + " workers, " + dealt.getNumPartitions() + " partitions");
        }
        bindings.reset();
        meter.start();
        release();
        try {
            cache(dealt, -1);
            return train(working, LocalSgdRound.KEEP_ORDER);
        } finally {
            release();
            traffic = meter.stop();
        }
    }

    /** The mean training score of the last pass's last round, as the workers reported it. */
    public java.util.OptionalDouble lastTrainingLoss() {
        return Double.isNaN(lastScore) ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(lastScore);
    }

    private ComputationGraph train(JavaRDD<DataSet> pass, long passSeed) {
        int longest = 0;
        for (int size : partitionSizes) {
            longest = Math.max(longest, size);
        }
        int rounds = (longest + steps - 1) / steps;
        LocalSgdRound.State state = LocalSgdRound.State.of(network);
        GpuBinding binding = new GpuBinding(bindings);
        long started = System.nanoTime();
        long fitNanos = 0;
        long exchangeNanos = 0;
        long broadcastNanos = 0;
        long averagingNanos = 0;
        long slowestTaskNanos = 0;
        for (int round = 0; round < rounds; round++) {
            long b0 = System.nanoTime();
            Broadcast<LocalSgdRound.State> shipped = sc.broadcast(state);
            broadcastNanos += System.nanoTime() - b0;
            LocalSgdRound task = new LocalSgdRound(id, model, shipped, round, steps, passSeed, binding);
            sc.setCallSite(ROUND_STAGE);
            LocalSgdRound.Sum sum;
            try {
                sum = pass.mapPartitionsWithIndex(task::run, true)
                        .treeAggregate(LocalSgdRound.Sum.empty(), LocalSgdRound.Sum::add,
                                LocalSgdRound.Sum::add);
            } finally {
                sc.clearCallSite();
                shipped.destroy();
            }
            if (sum.workers == 0) {
                break;
            }
            long m0 = System.nanoTime();
            state = sum.mean(state.iteration + sum.maxSteps, state.epoch);
            averagingNanos += System.nanoTime() - m0;
            fitNanos += sum.fitNanos;
            exchangeNanos += sum.exchangeNanos;
            slowestTaskNanos += sum.slowestTaskNanos;
            lastScore = sum.scoreSum / sum.workers;
        }
        state.applyTo(network);
        double wall = (System.nanoTime() - started) / 1e9;
        // Where a pass's time goes: the share of the workers' time spent fitting is what averaging leaves them.
        // The rounds' wall time less their slowest tasks is what Spark's job, the broadcast and the results cost.
        LOG.info("local-sgd pass: {} rounds in {} s, of which the slowest task of each round {} s; workers fitting "
                        + "{} s, copying parameters and state {} s (per worker: {} % of the wall time fitting); driver "
                        + "broadcasting {} s, averaging {} s",
                rounds, String.format("%.2f", wall), String.format("%.2f", slowestTaskNanos / 1e9),
                String.format("%.2f", fitNanos / 1e9), String.format("%.2f", exchangeNanos / 1e9),
                String.format("%.0f", 100 * fitNanos / 1e9 / workers / wall),
                String.format("%.2f", broadcastNanos / 1e9), String.format("%.2f", averagingNanos / 1e9));
        return network;
    }

    /** The pass's minibatches in {@code workers} partitions, cached executor-side, with each partition's size. */
    private JavaRDD<DataSet> working(JavaRDD<DataSet> minibatches) {
        if (working != null && workingSource == minibatches.id()) {
            return working;
        }
        release();
        // Always through a shuffle, even when the partitions already match the workers: a round's tasks carry their
        // RDD's partition objects, and those of a parallelized collection hold the data itself (every round would
        // ship the whole pass; 250 samples/s on Fashion-MNIST). A shuffle's partitions are light, and a lost cached
        // partition is rebuilt from the shuffle's output or its lineage, as Spark does for any RDD.
        JavaRDD<DataSet> spread = reshuffle ? Shuffle.deal(minibatches, workers, passSeeds.nextLong())
                : Shuffle.inOrder(minibatches, workers);
        cache(spread, minibatches.id());
        return working;
    }

    /** Persists {@code spread} as the working copy and counts each partition. */
    private void cache(JavaRDD<DataSet> spread, int source) {
        working = spread.mapPartitions(it -> it, true).persist(StorageLevel.MEMORY_ONLY());
        workingSource = source;
        sc.setCallSite("local-sgd: caching the pass's minibatches");
        try {
            List<Integer> sizes = working.mapPartitions(it -> {
                int n = 0;
                for (; it.hasNext(); it.next()) {
                    n++;
                }
                return List.of(n).iterator();
            }, true).collect();
            partitionSizes = sizes.stream().mapToInt(Integer::intValue).toArray();
        } finally {
            sc.clearCallSite();
        }
        LOG.info("local-sgd: {} workers, averaging every {} minibatches; minibatches per worker {}", workers, steps,
                java.util.Arrays.toString(partitionSizes));
    }

    private void release() {
        if (working != null) {
            working.unpersist(false);
            working = null;
            workingSource = -1;
        }
    }

    @Override
    public List<GpuBinding.Binding> deviceBindings() {
        return List.copyOf(bindings.value());
    }

    @Override
    public Traffic lastTraffic() {
        return traffic;
    }

    @Override
    public int workers() {
        return workers;
    }

    @Override
    public ComputationGraph network() {
        return network;
    }

    @Override
    public String name() {
        return "local-sgd";
    }

    @Override
    public void close() {
        release();
        meter.close();
        model.destroy();
        WorkerNetworks.forget(id);
    }
}

package dev.anneal.jobs.engine;

import dev.anneal.core.config.TrainingSettings;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.IntStream;

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
    /** The call site of a barrier pass's job (its exchange bypasses Spark's task results; counted from the tasks). */
    static final String PASS_STAGE = TrafficMeter.MODEL_EXCHANGE + ": local-sgd pass (barrier)";
    /** Under auto, the most workers whose messages the driver relays each round; more use per-round jobs. */
    static final int AUTO_BARRIER_WORKERS = 8;

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
    private final boolean barrier;
    /** {@code training.localSgd.density}: below 1, the sparse exchange ({@link SparseDelta}). */
    private final double density;
    /** Passes trained so far, which key what the sparse exchange's passes leave. */
    private int passes;
    /** The parameters the last sparse pass ended with, or null. */
    private float[] lastEnd;
    /** The stage attempt in which the last sparse pass succeeded. */
    private int lastAttempt;
    /** What the workers have fitted since the engine was created, as each pass's or round's tasks reported it. */
    private volatile TrainingProgress progress = TrainingProgress.NONE;
    /** Bytes the barrier exchange's messages carried in the current pass, to and from the driver's coordinator. */
    private long exchangedBytes;

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
        this.density = settings.training().localSgdDensity();
        this.barrier = density < 1 ? sparseBarrier(sc.getConf(), sc.isLocal(), density, network.numParams(), workers)
                : barrier(sc.getConf(), sc.isLocal(), settings.training().localSgdExchange(),
                LocalSgdRound.State.of(network).arrayBytes(), workers);
        if (density < 1) {
            LOG.info("local-sgd: sparse exchange, each worker sends {} of {} parameter changes per round",
                    SparseDelta.entries(density, network.numParams()), network.numParams());
        }
        this.model = BroadcastModel.of(sc, network);
        this.bindings = sc.sc().collectionAccumulator("anneal.gpuBindings");
        this.meter = new TrafficMeter(sc.sc());
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
        bindings.reset();
        meter.start();
        exchangedBytes = 0;
        try {
            JavaRDD<DataSet> pass = working(minibatches);
            return train(pass, reshuffle ? passSeeds.nextLong() : LocalSgdRound.KEEP_ORDER);
        } finally {
            traffic = meter.stop().plusResults(exchangedBytes);
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
        exchangedBytes = 0;
        release();
        try {
            // A pass cut from an epoch of several passes shares its stage with the epoch's shuffle, whose partition
            // count a barrier stage refuses: such a pass goes through a shuffle of its own first.
            cache(barrier && !BarrierStage.fitsOneStage(dealt.rdd(), workers) ? Shuffle.again(dealt) : dealt, -1);
            return train(working, LocalSgdRound.KEEP_ORDER);
        } finally {
            release();
            traffic = meter.stop().plusResults(exchangedBytes);
        }
    }

    @Override
    public TrainingProgress progress() {
        return progress;
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
        PassTime time = new PassTime();
        state = barrier ? barrierPass(pass, state, rounds, passSeed, binding, time)
                : roundJobs(pass, state, rounds, passSeed, binding, time);
        state.applyTo(network);
        time.log(workers, barrier);
        return network;
    }

    /** A pass as one barrier-mode stage ({@link LocalSgdPass}); the state partition 0 ended it with. */
    private LocalSgdRound.State barrierPass(JavaRDD<DataSet> pass, LocalSgdRound.State state, int rounds,
                                            long passSeed, GpuBinding binding, PassTime time) {
        long b0 = System.nanoTime();
        Broadcast<LocalSgdRound.State> shipped = sc.broadcast(state);
        time.broadcastNanos += System.nanoTime() - b0;
        SparseDelta.Plan plan = density < 1 ? new SparseDelta.Plan(density, passes, lastAttempt,
                lastEnd != null && java.util.Arrays.equals(lastEnd, state.params), state.iteration, state.epoch) : null;
        passes++;
        LocalSgdPass task = new LocalSgdPass(id, model, shipped, rounds, steps, passSeed, binding, plan);
        sc.setCallSite(PASS_STAGE);
        List<LocalSgdPass.Result> results;
        try {
            results = BarrierStage.run(pass, task);
        } finally {
            sc.clearCallSite();
            shipped.destroy();
        }
        LocalSgdRound.State end = null;
        for (LocalSgdPass.Result r : results) {
            time.fitNanos += r.fitNanos;
            time.exchangeNanos += r.exchangeNanos;
            time.waitNanos += r.waitNanos;
            time.slowestTaskNanos = Math.max(time.slowestTaskNanos, r.taskNanos);
            time.rounds = Math.max(time.rounds, r.rounds);
            exchangedBytes += r.sentBytes + r.receivedBytes;
            progress = progress.plus(r.fitted());
            // Every message goes to the coordinator once and comes back to every worker.
            time.serializedBytes += r.sentSerializedBytes * (1 + workers);
            lastAttempt = r.attempt;
            if (r.state != null) {
                end = r.state;
                lastScore = r.lastScore;
            }
        }
        if (end == null) {
            throw new IllegalStateException("the local-sgd pass's partition 0 returned no state");
        }
        lastEnd = density < 1 ? end.params : null;
        return end;
    }

    /** A pass as one Spark job per round ({@link LocalSgdRound}); the last round's mean. */
    private LocalSgdRound.State roundJobs(JavaRDD<DataSet> pass, LocalSgdRound.State state, int rounds,
                                          long passSeed, GpuBinding binding, PassTime time) {
        for (int round = 0; round < rounds; round++) {
            long b0 = System.nanoTime();
            Broadcast<LocalSgdRound.State> shipped = sc.broadcast(state);
            time.broadcastNanos += System.nanoTime() - b0;
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
            time.averagingNanos += System.nanoTime() - m0;
            time.fitNanos += sum.fitNanos;
            time.exchangeNanos += sum.exchangeNanos;
            time.slowestTaskNanos += sum.slowestTaskNanos;
            progress = progress.plus(new TrainingProgress(sum.minibatches, sum.examples, sum.lossSum));
            time.rounds++;
            lastScore = sum.scoreSum / sum.workers;
        }
        return state;
    }

    /** Where a pass's time went, for the line logged after it. */
    private static final class PassTime {
        final long started = System.nanoTime();
        int rounds;
        long fitNanos;
        long exchangeNanos;
        long waitNanos;
        long broadcastNanos;
        long averagingNanos;
        long slowestTaskNanos;
        /** The sparse exchange's messages as a cluster's RPC serializes them; 0 otherwise. */
        long serializedBytes;

        /**
         * The share of the workers' time spent fitting is what averaging leaves them. The wall time less the slowest
         * task(s) is what Spark's job(s), the broadcast and the results cost.
         */
        void log(int workers, boolean barrier) {
            double wall = (System.nanoTime() - started) / 1e9;
            LOG.info("local-sgd pass: {} rounds in {} s, of which the slowest task{} {} s; workers fitting {} s, "
                            + "exchanging parameters and state {} s{} (per worker: {} % of the wall time fitting); "
                            + "driver broadcasting {} s, averaging {} s",
                    rounds, String.format("%.2f", wall), barrier ? "" : " of each round",
                    String.format("%.2f", slowestTaskNanos / 1e9), String.format("%.2f", fitNanos / 1e9),
                    String.format("%.2f", exchangeNanos / 1e9),
                    barrier ? String.format(", of which waiting in allGather %.2f s", waitNanos / 1e9) : "",
                    String.format("%.0f", 100 * fitNanos / 1e9 / workers / wall),
                    String.format("%.2f", broadcastNanos / 1e9), String.format("%.2f", averagingNanos / 1e9));
            if (serializedBytes > 0) {
                LOG.info("local-sgd pass: the sparse exchange's messages serialize to {} bytes for a cluster's RPC",
                        serializedBytes);
            }
        }
    }

    /** Tasks a local master runs at once: {@code local} 1, {@code local[N]} / {@code local[N,F]} N, {@code *} the cores. */
    static int localSlots(String master, int taskCpus) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\d+)?])?")
                .matcher(master.trim());
        if (!m.matches()) {
            return Integer.MAX_VALUE;
        }
        int cores = m.group(1) == null ? 1 : m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors()
                : Integer.parseInt(m.group(1));
        return Math.max(1, cores / Math.max(1, taskCpus));
    }

    /**
     * Whether this engine exchanges through barrier stages: {@code exchange} is barrier, or auto and Spark can run
     * one here. An explicit barrier that cannot run is refused with the reason.
     */
    static boolean barrier(SparkConf conf, boolean local, String exchange, long stateBytes, int workers) {
        if (TrainingSettings.EXCHANGE_AGGREGATE.equals(exchange)) {
            return false;
        }
        String unavailable = barrierUnavailable(conf, local, stateBytes, workers,
                TrainingSettings.EXCHANGE_BARRIER.equals(exchange));
        if (unavailable == null) {
            LOG.info("local-sgd: {} workers exchange through one barrier stage per pass", workers);
            return true;
        }
        if (TrainingSettings.EXCHANGE_BARRIER.equals(exchange)) {
            throw new IllegalArgumentException("training.localSgd.exchange is barrier, but " + unavailable
                    + "; use aggregate (or auto)");
        }
        LOG.info("local-sgd: one Spark job per round (training.localSgd.exchange auto: {})", unavailable);
        return false;
    }

    /**
     * The sparse exchange runs through barrier stages only: true, or refused with the reason. Its messages are small
     * (at most 8 characters an entry: a bfloat16 value and a gap of up to 5 bytes, 7 bits a character), so the
     * driver's relay does not limit the workers as whole networks' does.
     */
    static boolean sparseBarrier(SparkConf conf, boolean local, double density, long parameters, int workers) {
        String unavailable = barrierUnavailable(conf, local, 8L * SparseDelta.entries(density, parameters), workers,
                true);
        if (unavailable != null) {
            throw new IllegalArgumentException("training.localSgd.density " + density + " needs the barrier "
                    + "exchange, but " + unavailable + "; use density 1");
        }
        LOG.info("local-sgd: {} workers exchange through one barrier stage per pass", workers);
        return true;
    }

    /**
     * Why a barrier exchange cannot (or, under auto, should not) run, or null. Spark refuses barrier stages under
     * dynamic allocation, and runs one only when all its tasks fit the free task slots at once (checked here for local
     * masters; a cluster's executors may not have registered yet, and Spark's own check retries). On a cluster every worker's message passes through the driver's barrier coordinator, which
     * sends each worker all of them in one RPC reply: that reply must fit {@code spark.rpc.message.maxSize} (a
     * message's characters serialize to up to two bytes each), and under auto the driver's relay, which grows with
     * the square of the workers, is left to the per-round jobs beyond {@link #AUTO_BARRIER_WORKERS} workers.
     */
    static String barrierUnavailable(SparkConf conf, boolean local, long stateBytes, int workers, boolean explicit) {
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            return "Spark's barrier mode does not run under dynamic allocation (spark.dynamicAllocation.enabled)";
        }
        if (local) {
            int slots = localSlots(conf.get("spark.master", "local[*]"), conf.getInt("spark.task.cpus", 1));
            if (workers > slots) {
                return String.format("a barrier stage runs all %d workers' tasks at once and %s runs %d at a time",
                        workers, conf.get("spark.master", "local[*]"), slots);
            }
            return null;
        }
        long maxSize = conf.getSizeAsMb("spark.rpc.message.maxSize", "128") << 20;
        long reply = 2L * workers * (stateBytes + LocalSgdPass.HEADER);
        if (reply > maxSize) {
            return String.format("an exchange of %d workers' parameters and state (up to %d MB in one reply of the "
                    + "driver's barrier coordinator) passes spark.rpc.message.maxSize (%d MB)", workers,
                    reply >> 20, maxSize >> 20);
        }
        if (!explicit && workers > AUTO_BARRIER_WORKERS) {
            return workers + " workers: the driver would relay every worker's message to every worker each round";
        }
        return null;
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

    /**
     * Under the sparse exchange only parameters return to the driver: its network keeps the Adam state the run
     * started with, whose moments do not go with its step count (resumed from them, Adam's steps would be several times
     * the steady ones for hundreds of steps; docs/ENGINES.md). So before a checkpoint one small job fetches the
     * Adam state that the lowest-numbered worker it finds left after the last pass, 4 bytes a value. The workers
     * keep what they hold, so the next pass trains as it would have.
     */
    @Override
    public ComputationGraph checkpointState() {
        INDArray view = network.getUpdater().getStateViewArray();
        if (density >= 1 || passes == 0 || view == null) {
            return network;
        }
        String engine = id;
        int pass = passes - 1;
        int attempt = lastAttempt;
        sc.setCallSite("local-sgd: a worker's Adam state for the checkpoint");
        List<Tuple2<Integer, float[]>> found;
        try {
            found = sc.parallelize(IntStream.range(0, workers).boxed().toList(), workers)
                    .mapPartitions(ignored -> {
                        Map.Entry<Integer, float[]> e = SparseDelta.peekUpdater(engine, pass, attempt);
                        return e == null ? java.util.Collections.emptyIterator()
                                : List.of(new Tuple2<>(e.getKey(), e.getValue())).iterator();
                    })
                    .collect();
        } finally {
            sc.clearCallSite();
        }
        Tuple2<Integer, float[]> first = found.stream().filter(t -> t._2().length == view.length())
                .min(java.util.Comparator.comparingInt(Tuple2::_1)).orElse(null);
        if (first == null) {
            LOG.warn("local-sgd: no executor holds what the workers of pass {} left; the checkpoint holds the Adam "
                    + "state the driver last had", pass);
            return network;
        }
        LocalSgdPass.Mean.write(first._2(), view);
        LOG.info("local-sgd: the checkpoint holds the Adam state worker {} ended pass {} with ({} bytes fetched)",
                first._1(), pass, 4L * first._2().length);
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
        SparseDelta.forget(id);
    }
}

package dev.anneal.jobs.engine;

import dev.anneal.core.net.ChainTrainer;
import dev.anneal.core.net.NativeFloats;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A whole pass of {@link LocalSgdEngine} in one barrier-mode Spark stage ({@code training.localSgd.exchange:
 * barrier}): every task starts from the pass's broadcast parameters and updater state and, round after round, fits
 * its next {@code steps} minibatches, then exchanges its parameters and updater state with the other tasks through
 * {@link BarrierTaskContext#allGather} and continues from their mean. The arithmetic is the per-round jobs' ({@link
 * LocalSgdRound}): the same minibatches in the same order, the same sum in partition order, the same mean; what
 * changes is that a round costs one exchange through the driver's barrier coordinator instead of a Spark job, a
 * broadcast and a task result each.
 *
 * <p>Spark runs a barrier stage's tasks all at once and retries them together: a failed task restarts the whole
 * pass from its broadcast, so a retry trains exactly what the first attempt would have.
 */
final class LocalSgdPass implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Bytes of a message's header: steps (int), score (double), parameter and updater-state lengths (ints). */
    static final int HEADER = 4 + 8 + 4 + 4;

    private final String engine;
    private final BroadcastModel model;
    private final Broadcast<LocalSgdRound.State> state;
    private final int rounds;
    private final int steps;
    private final long passSeed;
    private final GpuBinding binding;
    /** The sparse exchange's plan ({@link SparseDelta}), or null to average whole networks. */
    private final SparseDelta.Plan sparsePlan;

    LocalSgdPass(String engine, BroadcastModel model, Broadcast<LocalSgdRound.State> state, int rounds, int steps,
                 long passSeed, GpuBinding binding, SparseDelta.Plan sparsePlan) {
        this.engine = engine;
        this.model = model;
        this.state = state;
        this.rounds = rounds;
        this.steps = steps;
        this.passSeed = passSeed;
        this.binding = binding;
        this.sparsePlan = sparsePlan;
    }

    /** What a task reports: timings and bytes, and (partition 0 only) the state every task ended the pass with. */
    static final class Result implements Serializable {
        private static final long serialVersionUID = 1L;
        LocalSgdRound.State state;
        int rounds;
        long fitNanos;
        long exchangeNanos;
        /** Of the exchange, the time spent in {@code allGather}: waiting for the slowest worker, and the relay. */
        long waitNanos;
        long taskNanos;
        long sentBytes;
        long receivedBytes;
        /**
         * The sparse exchange's messages this task sent, as Java serialization writes them (modified UTF-8: a
         * character 0 or above 127 in two bytes), which is what Spark's RPC carries to and from the driver's barrier
         * coordinator on a cluster; in local mode the messages stay in the JVM.
         */
        long sentSerializedBytes;
        /** The barrier stage's attempt that ran this task. */
        int attempt;
        /** The minibatches this task fitted, their examples and the sum of their training losses. */
        long minibatches;
        long examples;
        double lossSum;
        /** The mean of the workers' training scores after the pass's last round that trained. */
        double lastScore = Double.NaN;

        void fitted(long examples, double loss) {
            this.minibatches++;
            this.examples += examples;
            this.lossSum += loss;
        }

        TrainingProgress fitted() {
            return new TrainingProgress(minibatches, examples, lossSum);
        }
    }

    /** Trains partition {@code partition}'s share of the pass, exchanging with the other tasks after every round. */
    Iterator<Result> run(int partition, Iterator<DataSet> minibatches) {
        long started = System.nanoTime();
        BarrierTaskContext context = BarrierTaskContext.get();
        List<DataSet> all = new ArrayList<>();
        binding.bind(minibatches).forEachRemaining(all::add);
        int[] order = LocalSgdRound.order(all.size(), passSeed, partition);
        WorkerNetworks.Worker worker = WorkerNetworks.take(engine, model::load);
        ComputationGraph network = worker.network;
        Result result = new Result();
        long t0 = System.nanoTime();
        SparseDelta sparse = null;
        Mean mean = null;
        int iteration;
        if (sparsePlan != null) {
            result.attempt = context.stageAttemptNumber();
            sparse = SparseDelta.start(engine, partition, result.attempt, sparsePlan, network, state::value);
            iteration = sparsePlan.iteration();
        } else {
            LocalSgdRound.State start = state.value();
            start.applyTo(network);
            iteration = start.iteration;
            mean = new Mean(start.params.length, start.updater.length);
        }
        result.exchangeNanos += System.nanoTime() - t0;
        ChainTrainer dense = worker.trainer();
        for (int round = 0; round < rounds; round++) {
            int from = round * steps;
            int to = Math.min(all.size(), from + steps);
            long f0 = System.nanoTime();
            if (from < to) {
                try (ChainTrainer.Pass pass = dense != null ? dense.pass() : null) {
                    for (int i = from; i < to; i++) {
                        DataSet minibatch = all.get(order[i]);
                        ChainTrainer.fit(dense, network, minibatch);
                        result.fitted(minibatch.numExamples(), network.score());
                    }
                }
            }
            long f1 = System.nanoTime();
            result.fitNanos += f1 - f0;
            String message = from >= to ? "" : sparse != null ? sparse.encode(network.params(), to - from,
                    network.score()) : encode(network, to - from, network.score());
            long w0 = System.nanoTime();
            String[] messages = BarrierExchange.allGather(context, message);
            result.waitNanos += System.nanoTime() - w0;
            result.sentBytes += message.length();
            if (sparse != null) {
                result.sentSerializedBytes += serializedLength(message);
            }
            for (String m : messages) {
                result.receivedBytes += m.length();
            }
            if (sparse != null) {
                SparseDelta.Round gathered = sparse.apply(messages, network);
                if (gathered.workers == 0) {
                    break;
                }
                iteration += gathered.maxSteps;
                network.getConfiguration().setIterationCount(iteration);
                result.lastScore = gathered.scoreSum / gathered.workers;
                result.rounds++;
                result.exchangeNanos += System.nanoTime() - f1;
                continue;
            }
            mean.clear();
            for (String m : messages) {
                if (!m.isEmpty()) {
                    mean.add(m);
                }
            }
            if (mean.workers == 0) {
                break;
            }
            iteration += mean.maxSteps;
            mean.applyTo(network, iteration);
            result.lastScore = mean.scoreSum / mean.workers;
            result.rounds++;
            result.exchangeNanos += System.nanoTime() - f1;
        }
        if (sparse != null) {
            SparseDelta.keep(engine, sparsePlan.pass(), result.attempt, partition, sparse.left(network));
        }
        if (partition == 0) {
            // The sparse exchange's workers keep their own Adam state: the driver gets the parameters only.
            result.state = sparse == null ? LocalSgdRound.State.of(network)
                    : LocalSgdRound.State.parametersOf(network);
        }
        WorkerNetworks.give(engine, worker);
        result.taskNanos = System.nanoTime() - started;
        return List.of(result).iterator();
    }

    /** Bytes Java serialization writes for {@code message}'s characters (all below 256): modified UTF-8. */
    static long serializedLength(String message) {
        long n = message.length();
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (c == 0 || c > 0x7f) {
                n++;
            }
        }
        return n;
    }

    /**
     * A worker's round as a message: header, then parameters and updater state as little-endian float32 bytes, one
     * byte per character (ISO-8859-1), which {@code allGather}'s strings carry unchanged. Copied straight from the
     * network's native arrays.
     */
    static String encode(ComputationGraph network, int steps, double score) {
        INDArray params = network.params();
        INDArray updater = network.getUpdater().getStateViewArray();
        int p = Math.toIntExact(params.length());
        int u = updater == null ? 0 : Math.toIntExact(updater.length());
        byte[] bytes = new byte[Math.addExact(HEADER, Math.multiplyExact(4, p + u))];
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(steps).putDouble(score).putInt(p).putInt(u);
        FloatBuffer floats = buffer.asFloatBuffer();
        put(floats, params);
        if (u > 0) {
            put(floats, updater);
        }
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static void put(FloatBuffer into, INDArray vector) {
        if (NativeFloats.dense(vector)) {
            into.put(NativeFloats.view(vector));
        } else {
            into.put(NativeFloats.floats(vector));
        }
    }

    /**
     * The workers' mean of one round, summed message by message in partition order and scaled as {@link
     * LocalSgdRound.Sum#mean} scales, so that it is the per-round jobs' mean to the bit. Its arrays are reused from
     * round to round.
     */
    static final class Mean {
        final float[] params;
        final float[] updater;
        private final float[] scratch;
        int workers;
        int maxSteps;
        double scoreSum;

        Mean(int params, int updater) {
            this.params = new float[params];
            this.updater = new float[updater];
            this.scratch = new float[Math.max(params, updater)];
        }

        void clear() {
            workers = 0;
            maxSteps = 0;
            scoreSum = 0;
        }

        /** Adds one worker's message. */
        void add(String message) {
            ByteBuffer bytes = ByteBuffer.wrap(message.getBytes(StandardCharsets.ISO_8859_1))
                    .order(ByteOrder.LITTLE_ENDIAN);
            int stepsTaken = bytes.getInt();
            double score = bytes.getDouble();
            int p = bytes.getInt();
            int u = bytes.getInt();
            if (p != params.length || u != updater.length || bytes.remaining() != 4L * (p + u)) {
                throw new IllegalStateException("a local-sgd exchange message holds " + p + " parameters and " + u
                        + " updater values in " + bytes.remaining() + " bytes; this worker's network has "
                        + params.length + " and " + updater.length + ": all workers must train the same network");
            }
            FloatBuffer floats = bytes.asFloatBuffer();
            addInto(floats, params);
            addInto(floats, updater);
            workers++;
            maxSteps = Math.max(maxSteps, stepsTaken);
            scoreSum += score;
        }

        private void addInto(FloatBuffer from, float[] sum) {
            if (workers == 0) {
                from.get(sum);
                return;
            }
            from.get(scratch, 0, sum.length);
            for (int i = 0; i < sum.length; i++) {
                sum[i] += scratch[i];
            }
        }

        /** Sets {@code network}'s parameters and updater state to the mean, and its step count. */
        void applyTo(ComputationGraph network, int iteration) {
            if (workers > 1) {
                float scale = 1f / workers;
                for (int i = 0; i < params.length; i++) {
                    params[i] *= scale;
                }
                for (int i = 0; i < updater.length; i++) {
                    updater[i] *= scale;
                }
            }
            write(params, network.params());
            INDArray view = network.getUpdater().getStateViewArray();
            if (view != null && updater.length > 0) {
                write(updater, view);
            }
            network.getConfiguration().setIterationCount(iteration);
        }

        static void write(float[] values, INDArray into) {
            if (NativeFloats.dense(into)) {
                NativeFloats.write(values, into);
            } else {
                into.assign(NativeFloats.array(values, into.shape()));
            }
        }
    }
}

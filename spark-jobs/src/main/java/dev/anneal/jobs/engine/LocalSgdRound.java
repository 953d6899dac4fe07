package dev.anneal.jobs.engine;

import dev.anneal.core.net.ChainTrainer;
import dev.anneal.core.net.NativeFloats;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * One round of {@link LocalSgdEngine} in one Spark task: the worker network takes the round's broadcast parameters,
 * updater state and step count, fits the next {@code steps} minibatches of its partition, and returns its parameters
 * and updater state for averaging. Small and serializable; it captures nothing of the driver but broadcasts.
 */
final class LocalSgdRound implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Pass seed meaning: fit a partition's minibatches in their stored order. */
    static final long KEEP_ORDER = Long.MIN_VALUE;

    private final String engine;
    private final BroadcastModel model;
    private final Broadcast<State> state;
    private final int round;
    private final int steps;
    private final long passSeed;
    private final GpuBinding binding;

    LocalSgdRound(String engine, BroadcastModel model, Broadcast<State> state, int round, int steps, long passSeed,
                  GpuBinding binding) {
        this.engine = engine;
        this.model = model;
        this.state = state;
        this.round = round;
        this.steps = steps;
        this.passSeed = passSeed;
        this.binding = binding;
    }

    /** Trains partition {@code partition}'s share of this round; no result when its share is used up. */
    Iterator<Sum> run(int partition, Iterator<DataSet> minibatches) {
        long started = System.nanoTime();
        List<DataSet> all = new ArrayList<>();
        // The binding runs first in the task's thread, before the network exists, so the network lives on the GPU.
        binding.bind(minibatches).forEachRemaining(all::add);
        int from = round * steps;
        if (from >= all.size()) {
            return Collections.emptyIterator();
        }
        int to = Math.min(all.size(), from + steps);
        int[] order = order(all.size(), passSeed, partition);
        WorkerNetworks.Worker worker = WorkerNetworks.take(engine, model::load);
        ComputationGraph network = worker.network;
        long t0 = System.nanoTime();
        State s = state.value();
        s.applyTo(network);
        long t1 = System.nanoTime();
        ChainTrainer dense = worker.trainer();
        long examples = 0;
        double lossSum = 0;
        // The round's steps keep Adam's moments in the trainer; closing the pass writes them back for Sum.of.
        try (ChainTrainer.Pass pass = dense != null ? dense.pass() : null) {
            for (int i = from; i < to; i++) {
                DataSet minibatch = all.get(order[i]);
                ChainTrainer.fit(dense, network, minibatch);
                examples += minibatch.numExamples();
                lossSum += network.score();
            }
        }
        long t2 = System.nanoTime();
        Sum out = Sum.of(network, to - from);
        out.minibatches = to - from;
        out.examples = examples;
        out.lossSum = lossSum;
        out.scoreSum = network.score();
        out.fitNanos = t2 - t1;
        out.exchangeNanos = t1 - t0 + System.nanoTime() - t2;
        out.slowestTaskNanos = System.nanoTime() - started;
        WorkerNetworks.give(engine, worker);
        return Collections.singletonList(out).iterator();
    }

    /**
     * The order a partition's minibatches are fitted in during one pass: a permutation drawn from the pass's seed and
     * the partition, the same in every round of the pass, so the rounds together fit every minibatch once.
     */
    static int[] order(int n, long passSeed, int partition) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (passSeed != KEEP_ORDER) {
            Random random = new Random(passSeed * 31 + partition);
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** What a round starts from: the averaged parameters, updater state and the step and epoch counts. */
    static final class State implements Serializable {
        private static final long serialVersionUID = 1L;
        float[] params;
        float[] updater;
        int iteration;
        int epoch;

        State(float[] params, float[] updater, int iteration, int epoch) {
            this.params = params;
            this.updater = updater;
            this.iteration = iteration;
            this.epoch = epoch;
        }

        static State of(ComputationGraph network) {
            INDArray view = network.getUpdater().getStateViewArray();
            return new State(floats(network.params()), view == null ? new float[0] : floats(view),
                    network.getConfiguration().getIterationCount(), network.getConfiguration().getEpochCount());
        }

        /** {@code network}'s parameters and counts, without its updater state (which {@link #applyTo} then keeps). */
        static State parametersOf(ComputationGraph network) {
            return new State(floats(network.params()), new float[0], network.getConfiguration().getIterationCount(),
                    network.getConfiguration().getEpochCount());
        }

        /** Sets {@code network}'s parameters, updater state (where this holds one) and counts to these. */
        void applyTo(ComputationGraph network) {
            network.setParams(array(params, network.params().shape()));
            INDArray view = network.getUpdater().getStateViewArray();
            if (view != null && updater.length > 0) {
                view.assign(array(updater, view.shape()));
            }
            network.getConfiguration().setIterationCount(iteration);
            network.getConfiguration().setEpochCount(epoch);
        }

        /**
         * A float32 vector's elements. A round copies parameters and updater state in and out of every worker, so
         * this is one native copy where it can be ({@link NativeFloats}; element-wise copies were the largest item
         * outside training in a profile of the benchmark MLP's rounds).
         */
        static float[] floats(INDArray vector) {
            return NativeFloats.floats(vector);
        }

        /** A new float32 array of {@code shape} holding {@code values}, copied as {@link #floats} copies. */
        static INDArray array(float[] values, long[] shape) {
            return NativeFloats.array(values, shape);
        }

        /** Bytes of the arrays a round ships each way per worker. */
        long arrayBytes() {
            return 4L * (params.length + updater.length);
        }
    }

    /** Worker results summed: parameters and updater state, the workers that trained and their most steps. */
    static final class Sum implements Serializable {
        private static final long serialVersionUID = 1L;
        float[] params;
        float[] updater;
        int workers;
        int maxSteps;
        /** Time the workers spent fitting, and taking and handing back parameters and state, summed. */
        long fitNanos;
        long exchangeNanos;
        /** The longest of the workers' tasks, from the task's start to its result (before Spark sends it). */
        long slowestTaskNanos;
        /** The workers' training scores after their last step, summed. */
        double scoreSum;
        /** The minibatches the workers fitted, their examples and the sum of their training losses. */
        long minibatches;
        long examples;
        double lossSum;

        Sum(float[] params, float[] updater, int workers, int maxSteps) {
            this.params = params;
            this.updater = updater;
            this.workers = workers;
            this.maxSteps = maxSteps;
        }

        static Sum empty() {
            return new Sum(null, null, 0, 0);
        }

        static Sum of(ComputationGraph network, int steps) {
            State s = State.of(network);
            return new Sum(s.params, s.updater, 1, steps);
        }

        /** Adds {@code other} into this (Spark gives each partition its own copy of the zero value). */
        Sum add(Sum other) {
            if (other.workers == 0) {
                return this;
            }
            if (workers == 0) {
                return other;
            }
            addInto(params, other.params);
            addInto(updater, other.updater);
            workers += other.workers;
            fitNanos += other.fitNanos;
            scoreSum += other.scoreSum;
            minibatches += other.minibatches;
            examples += other.examples;
            lossSum += other.lossSum;
            exchangeNanos += other.exchangeNanos;
            slowestTaskNanos = Math.max(slowestTaskNanos, other.slowestTaskNanos);
            maxSteps = Math.max(maxSteps, other.maxSteps);
            return this;
        }

        /** The workers' mean, to start the next round from. */
        State mean(int iteration, int epoch) {
            float scale = 1f / workers;
            return new State(scaled(params, scale), scaled(updater, scale), iteration, epoch);
        }

        private static void addInto(float[] sum, float[] x) {
            if (sum.length != x.length) {
                throw new IllegalStateException("workers returned arrays of " + sum.length + " and " + x.length
                        + " entries; all must train the same network");
            }
            for (int i = 0; i < sum.length; i++) {
                sum[i] += x[i];
            }
        }

        private static float[] scaled(float[] sum, float scale) {
            if (scale == 1f) {
                return sum;
            }
            float[] out = new float[sum.length];
            for (int i = 0; i < sum.length; i++) {
                out[i] = sum[i] * scale;
            }
            return out;
        }
    }
}

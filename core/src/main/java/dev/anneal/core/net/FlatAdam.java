package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Adam over a network's flat parameter, gradient and updater-state arrays, block by block (DL4J's updater blocks:
 * each block's state is its first moments, then its second), as DL4J's Adam op computes it; then params −= update,
 * with the update left in the gradient array as DL4J leaves it. ND4J's op costs about 5 ns a parameter; here each
 * block's four ranges are copied into Java arrays of their own in one native call each, so the loop runs over separate
 * arrays with one index, which the JIT vectorises, and copied back. When ND4J may use more than one thread, large
 * blocks are split across the common fork-join pool in as many slices. Every updater block must be Adam.
 */
final class FlatAdam {
    /** Blocks of fewer parameters run in one thread: splitting them costs more than it saves. */
    private static final int PARALLEL_MINIMUM = 1 << 16;

    private final INDArray params;
    private final INDArray gradients;
    private final INDArray state;
    private final List<AdamBlock> blocks;
    private int threads = Math.max(1, Math.min(Nd4j.getEnvironment().maxThreads(),
            Runtime.getRuntime().availableProcessors()));

    FlatAdam(ComputationGraph network) {
        List<AdamBlock> adam = new ArrayList<>();
        for (UpdaterBlock block : network.getUpdater().getUpdaterBlocks()) {
            adam.add(new AdamBlock(((AdamUpdater) block.getGradientUpdater()).getConfig(), block.getParamOffsetStart(),
                    block.getParamOffsetEnd(), block.getUpdaterViewOffsetStart(), block.getUpdaterViewOffsetEnd()));
        }
        this.blocks = List.copyOf(adam);
        this.params = network.params();
        this.gradients = network.getFlattenedGradients();
        this.state = network.getUpdater().getStateViewArray();
    }

    /** Whether the moments live in the blocks' Java arrays between steps ({@link #keepMoments}). */
    private boolean resident;

    /**
     * Reads every block's moments into its Java arrays once, and keeps them there between steps until
     * {@link #releaseMoments}: a step then copies only parameters and gradients (13 % of the benchmark MLP's step at
     * one thread). Meanwhile the network's state array is stale, and nothing else may write it.
     */
    void keepMoments() {
        if (resident) {
            throw new IllegalStateException("Adam's moments are already kept in Java");
        }
        for (AdamBlock block : blocks) {
            int length = block.p.length;
            NativeFloats.readRange(state, block.stateStart, block.m, 0, length);
            NativeFloats.readRange(state, block.stateStart + length, block.v, 0, length);
        }
        resident = true;
    }

    /** Writes the kept moments back into the network's state array; steps copy them each time again. */
    void releaseMoments() {
        if (!resident) {
            return;
        }
        for (AdamBlock block : blocks) {
            int length = block.p.length;
            NativeFloats.writeRange(block.m, 0, length, state, block.stateStart);
            NativeFloats.writeRange(block.v, 0, length, state, block.stateStart + length);
        }
        resident = false;
    }

    boolean keepsMoments() {
        return resident;
    }

    /** Sets how many slices a large block is split into (by default, as many as ND4J may use threads). */
    void threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
    }

    /** One update at step {@code iteration} (counted from 0) of epoch {@code epoch}. */
    void step(int iteration, int epoch) {
        for (AdamBlock block : blocks) {
            Adam conf = block.config;
            double lr = conf.getLearningRate(iteration, epoch);
            float alpha = (float) (lr * Math.sqrt(1 - Math.pow(conf.getBeta2(), iteration + 1))
                    / (1 - Math.pow(conf.getBeta1(), iteration + 1)));
            if (Float.isNaN(alpha) || Float.isInfinite(alpha) || alpha == 0) {
                alpha = (float) conf.getEpsilon();
            }
            int length = block.p.length;
            int slices = length < PARALLEL_MINIMUM ? 1 : threads;
            float blockAlpha = alpha;
            if (slices == 1) {
                slice(block, blockAlpha, 0, length);
            } else {
                IntStream.range(0, slices).parallel().forEach(i -> slice(block, blockAlpha,
                        (int) ((long) length * i / slices), (int) ((long) length * (i + 1) / slices)));
            }
        }
    }

    private void slice(AdamBlock block, float alpha, int from, int to) {
        float beta1 = (float) block.config.getBeta1();
        float beta2 = (float) block.config.getBeta2();
        float epsilon = (float) block.config.getEpsilon();
        float oneMinusBeta1 = 1 - beta1;
        float oneMinusBeta2 = 1 - beta2;
        int length = block.p.length;
        int n = to - from;
        float[] p = block.p;
        float[] g = block.g;
        float[] m = block.m;
        float[] v = block.v;
        NativeFloats.readRange(params, block.paramStart + from, p, from, n);
        NativeFloats.readRange(gradients, block.paramStart + from, g, from, n);
        if (!resident) {
            NativeFloats.readRange(state, block.stateStart + from, m, from, n);
            NativeFloats.readRange(state, block.stateStart + length + from, v, from, n);
        }
        for (int k = from; k < to; k++) {
            float grad = g[k];
            float mk = beta1 * m[k] + grad * oneMinusBeta1;
            float vk = beta2 * v[k] + grad * grad * oneMinusBeta2;
            m[k] = mk;
            v[k] = vk;
            float update = (mk * alpha) / ((float) Math.sqrt(vk) + epsilon);
            g[k] = update;
            p[k] -= update;
        }
        NativeFloats.writeRange(p, from, n, params, block.paramStart + from);
        NativeFloats.writeRange(g, from, n, gradients, block.paramStart + from);
        if (!resident) {
            NativeFloats.writeRange(m, from, n, state, block.stateStart + from);
            NativeFloats.writeRange(v, from, n, state, block.stateStart + length + from);
        }
    }

    /** One updater block: its settings, where it lies in the flat arrays, and its working copies. */
    private static final class AdamBlock {
        final Adam config;
        final int paramStart;
        final int stateStart;
        final float[] p;
        final float[] g;
        final float[] m;
        final float[] v;

        AdamBlock(Adam config, int paramStart, int paramEnd, int stateStart, int stateEnd) {
            if (stateEnd - stateStart != 2 * (paramEnd - paramStart)) {
                throw new IllegalStateException("an Adam block of " + (paramEnd - paramStart) + " parameters has "
                        + (stateEnd - stateStart) + " state entries, not twice as many");
            }
            this.config = config;
            this.paramStart = paramStart;
            this.stateStart = stateStart;
            int length = paramEnd - paramStart;
            p = new float[length];
            g = new float[length];
            m = new float[length];
            v = new float[length];
        }
    }
}

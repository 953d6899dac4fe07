package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.AdamUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Trains a chain of layers ending in a softmax cross-entropy output (what {@link MlpSpec} and {@link CnnSpec} build)
 * one minibatch at a time, with the same arithmetic as DL4J's {@code ComputationGraph.fit(DataSet)} but three to seven
 * times as fast on the CPU (the benchmark MLP and CNN). It works on the network's own parameter, gradient and Adam
 * state arrays, so the network, its step count and score afterwards are what DL4J's fit leaves (up to float
 * rounding; Adam's state once a {@link #pass()} closes), and checkpoints, evaluation and the engines see no
 * difference.
 *
 * <p>Where DL4J's step loses the time, on the benchmark MLP with one native thread: its Adam op runs about 5 ns per
 * parameter (2.5 ms a step for 535k parameters, the same with two threads), against 0.6 ms for the loop here with
 * its copies; and its dense layer computes each pre-activation a second time in backprop, and the input's gradient,
 * which nothing uses. Here a dense step is three GEMMs per layer less the first layer's input gradient, ND4J's
 * element-wise ops in place into buffers kept between steps, and one Adam pass over the flat arrays
 * ({@link FlatAdam}). On the CNN, DL4J's convolutions spend most of a step writing {@code im2col} columns through a
 * strided view; here each convolution-and-pooling block ({@link ConvPool}) unrolls NHWC images in contiguous runs,
 * pools and takes ReLU in vectorised Java loops, and leaves ND4J only its three GEMMs. Within a {@link #pass()},
 * Adam's moments stay in Java between steps and the network's updater state is written back when the pass closes.
 *
 * <p>Only networks whose every part it reproduces qualify ({@link #unsupportedReason}): a single-path graph of
 * optional convolution blocks ({@link ConvBlocks}: valid, stride-1 convolutions with bias and ReLU, each followed by
 * 2×2 max pooling), then {@code DenseLayer}s with bias and ReLU, tanh, sigmoid or identity activations into an
 * {@code OutputLayer} with softmax and unweighted multi-class cross-entropy; float32 on the CPU backend; Adam for
 * every parameter; no dropout, weight noise, constraints, regularisation, gradient normalisation or listeners.
 * Anything else, and any minibatch with masks or non-float data, trains through DL4J's own {@code fit}. The system
 * property {@value #DISABLE_PROPERTY}{@code =true} or the environment variable {@value #DISABLE_ENV}{@code =off}
 * (names kept from when it trained dense chains only) sends everything through DL4J's {@code fit}.
 */
public final class ChainTrainer {
    /** System property that turns this path off ({@code true}): every step then goes through DL4J's {@code fit}. */
    public static final String DISABLE_PROPERTY = "anneal.denseTrainer.disabled";
    /** Environment variable that does the same ({@code off}), for executors: {@code spark.executorEnv.…}. */
    public static final String DISABLE_ENV = "ANNEAL_DENSE_TRAINER";

    private final ComputationGraph network;
    /** The convolution blocks before the dense layers, or null for a plain MLP. */
    private final ConvBlocks convs;
    private final DenseStep[] layers;
    /** The length of an input row. */
    private final long inputSize;
    private final INDArray params;
    private final INDArray gradients;
    private final INDArray state;
    private final FlatAdam adam;
    private final Map<Long, Buffers> buffers = new HashMap<>();
    /** The most outputs of any layer: a minibatch's largest activation has this many columns. */
    private final long widest;

    private ChainTrainer(ComputationGraph network, List<LayerVertex> chain) {
        this.network = network;
        this.adam = new FlatAdam(network);
        this.params = network.params();
        this.gradients = network.getFlattenedGradients();
        this.state = network.getUpdater().getStateViewArray();
        int front = ConvBlocks.frontLength(chain);
        this.convs = ConvBlocks.of(chain, front);
        this.layers = new DenseStep[chain.size() - front];
        long most = 0;
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new DenseStep(chain.get(front + i).getLayer());
            most = Math.max(most, layers[i].nOut);
        }
        this.widest = most;
        this.inputSize = convs != null ? convs.inputSize : layers[0].nIn;
    }

    /**
     * A trainer for {@code network}, or {@code null} when {@link #unsupportedReason} names something this path does
     * not reproduce or the path is turned off; callers then use {@code network.fit}.
     */
    public static ChainTrainer forNetwork(ComputationGraph network) {
        if (disabled() || unsupportedReason(network) != null) {
            return null;
        }
        return new ChainTrainer(network, chain(network));
    }

    /**
     * Trains one minibatch: {@code network.fit(minibatch)} through this trainer when {@code trainer} is not null and
     * takes the minibatch, through DL4J otherwise.
     */
    public static void fit(ChainTrainer trainer, ComputationGraph network, DataSet minibatch) {
        if (trainer != null && trainer.network == network && trainer.isCurrent() && trainer.takes(minibatch)) {
            trainer.fit(minibatch);
        } else if (trainer != null && trainer.network == network && trainer.adam.keepsMoments()) {
            // Inside a pass DL4J must see Adam's current moments, and the pass must go on from DL4J's.
            trainer.adam.releaseMoments();
            network.fit(minibatch);
            if (trainer.isCurrent()) {
                trainer.adam.keepMoments();
            }
        } else {
            network.fit(minibatch);
        }
    }

    /**
     * Opens a pass: until it is closed, Adam's moments stay in this trainer's Java arrays between steps instead of
     * being copied out of and back into the network every step (the step's largest copies: the benchmark MLP's step
     * took 2.2 instead of 2.55 ms at one thread). Meanwhile the network's updater state array is stale: read it, or
     * write it, only after {@link Pass#close}, which writes the moments back. Parameters, gradients, the step count
     * and the score stay current after every step. {@link #fit(ChainTrainer, ComputationGraph, DataSet)}
     * hands DL4J the current moments when it falls back within a pass.
     */
    public Pass pass() {
        if (!isCurrent()) {
            throw new IllegalStateException("the network's arrays were replaced after this trainer was made");
        }
        adam.keepMoments();
        return new Pass();
    }

    /** A pass of steps with Adam's moments kept in Java; closing it writes them back into the network. */
    public final class Pass implements AutoCloseable {
        private Pass() {
        }

        @Override
        public void close() {
            adam.releaseMoments();
        }
    }

    /** Whether {@link #DISABLE_PROPERTY} or {@link #DISABLE_ENV} turns this path off. */
    public static boolean disabled() {
        return Boolean.getBoolean(DISABLE_PROPERTY) || "off".equalsIgnoreCase(System.getenv(DISABLE_ENV));
    }

    /** Why {@code network} must train through DL4J's own {@code fit}, or {@code null} when this path reproduces it. */
    public static String unsupportedReason(ComputationGraph network) {
        Objects.requireNonNull(network, "network");
        if (!Nd4j.getEnvironment().isCPU()) {
            return "not the CPU backend";
        }
        if (network.params() == null || network.params().dataType() != DataType.FLOAT) {
            return "parameters are not float32";
        }
        if (network.getListeners() != null && !network.getListeners().isEmpty()) {
            return "the network has training listeners";
        }
        if (!network.getConfiguration().getDefaultConfiguration().isMiniBatch()) {
            return "gradients are not averaged over the minibatch";
        }
        List<LayerVertex> chain = chain(network);
        if (chain == null) {
            return "not a single chain of layers from one input to one output";
        }
        int front = ConvBlocks.frontLength(chain);
        String convReason = ConvBlocks.unsupportedReason(chain, front);
        if (convReason != null) {
            return convReason;
        }
        for (int i = 0; i < chain.size(); i++) {
            boolean last = i == chain.size() - 1;
            Layer layer = chain.get(i).getLayer();
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            String name = conf.getLayerName();
            if (conf instanceof SubsamplingLayer) {
                continue;
            }
            if (i < front) {
                // ConvBlocks checked the convolution's shape and activation; the common checks follow.
            } else if (last ? conf.getClass() != OutputLayer.class : conf.getClass() != DenseLayer.class) {
                return "layer " + name + " (" + conf.getClass().getSimpleName() + ") is not "
                        + (last ? "an OutputLayer" : "a DenseLayer");
            }
            BaseLayer base = (BaseLayer) conf;
            if (conf instanceof DenseLayer dense && (!dense.hasBias() || dense.hasLayerNorm())) {
                return "layer " + name + " has no bias or has layer normalisation";
            }
            if (conf instanceof OutputLayer output) {
                if (!output.hasBias()) {
                    return "layer " + name + " has no bias";
                }
                if (!(output.getLossFn() instanceof LossMCXENT loss) || loss.getWeights() != null
                        || !(base.getActivationFn() instanceof ActivationSoftmax)) {
                    return "layer " + name + " is not softmax with unweighted multi-class cross-entropy";
                }
            } else if (i >= front && DenseStep.activation(base.getActivationFn()) == null) {
                return "layer " + name + " has activation " + base.getActivationFn();
            }
            if (conf.getIDropout() != null || base.getWeightNoise() != null
                    || (conf.getConstraints() != null && !conf.getConstraints().isEmpty())) {
                return "layer " + name + " has dropout, weight noise or constraints";
            }
            if (!empty(base.getRegularization()) || !empty(base.getRegularizationBias())) {
                return "layer " + name + " has regularisation";
            }
            if (base.getGradientNormalization() != null
                    && base.getGradientNormalization() != GradientNormalization.None) {
                return "layer " + name + " normalises its gradients";
            }
            for (String param : List.of("W", "b")) {
                if (!(base.getUpdaterByParam(param) instanceof Adam)) {
                    return "layer " + name + " parameter " + param + " is not trained with Adam";
                }
            }
            if (!layer.paramTable(false).keySet().equals(java.util.Set.of("W", "b"))) {
                return "layer " + name + " has parameters other than W and b";
            }
        }
        for (UpdaterBlock block : network.getUpdater().getUpdaterBlocks()) {
            if (!(block.getGradientUpdater() instanceof AdamUpdater)) {
                return "an updater block is not Adam";
            }
        }
        if (network.getFlattenedGradients() == null) {
            network.initGradientsView();
        }
        for (INDArray a : new INDArray[] {network.params(), network.getFlattenedGradients(),
                network.getUpdater().getStateViewArray()}) {
            if (a == null || !NativeFloats.dense(a)) {
                return "the parameter, gradient or updater state array is not one dense float32 vector";
            }
        }
        return null;
    }

    /** Sets how many slices Adam splits a large block into (by default, as many as ND4J may use threads). */
    ChainTrainer withAdamThreads(int threads) {
        adam.threads(threads);
        return this;
    }

    /**
     * Whether the network still holds the arrays this trainer was made on (DL4J assigns into them when parameters or
     * updater state are set, but a re-initialised network has new ones); a stale trainer's {@link #fit} refuses.
     */
    public boolean isCurrent() {
        return sameMemory(network.params(), params) && sameMemory(network.getFlattenedGradients(), gradients)
                && sameMemory(network.getUpdater().getStateViewArray(), state);
    }

    /** Whether two arrays are the same elements in memory ({@code params()} returns a new view object each call). */
    private static boolean sameMemory(INDArray a, INDArray b) {
        return a != null && b != null && a.length() == b.length() && a.offset() == b.offset()
                && a.data().address() == b.data().address();
    }

    /** Whether {@link #fit} takes this minibatch; others go through DL4J. */
    public boolean takes(DataSet minibatch) {
        INDArray x = minibatch.getFeatures();
        INDArray y = minibatch.getLabels();
        return x != null && y != null && x.rank() == 2 && y.rank() == 2 && x.dataType() == DataType.FLOAT
                && y.dataType() == DataType.FLOAT && minibatch.getFeaturesMaskArray() == null
                && minibatch.getLabelsMaskArray() == null && x.size(0) == y.size(0) && x.size(0) > 0
                && x.size(1) == inputSize && y.size(1) == layers[layers.length - 1].nOut;
    }

    /** One step on {@code minibatch}, as {@code network.fit(minibatch)} would take it. */
    public void fit(DataSet minibatch) {
        if (!isCurrent()) {
            throw new IllegalStateException("the network's parameter, gradient or updater arrays were replaced after "
                    + "this trainer was made; make a new one with ChainTrainer.forNetwork");
        }
        if (!takes(minibatch)) {
            throw new IllegalArgumentException("minibatch of features " + java.util.Arrays.toString(
                    minibatch.getFeatures().shape()) + " does not fit this " + inputSize + "-input network's "
                    + "dense path (float32, no masks)");
        }
        long m = minibatch.getFeatures().size(0);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
             OneThreadElementwise oneThread = OneThreadElementwise.enter(m * widest)) {
            INDArray x = minibatch.getFeatures();
            INDArray y = minibatch.getLabels();
            Buffers b = buffers.computeIfAbsent(m, this::allocate);
            int n = layers.length;
            // Forward: z = a·W + b, activation in place.
            INDArray first = convs != null ? convs.forward(x) : x;
            INDArray in = first;
            for (int i = 0; i < n; i++) {
                INDArray out = b.activations[i];
                Nd4j.gemm(in, layers[i].weights, out, false, false, 1.0, 0.0);
                out.addiRowVector(layers[i].bias);
                layers[i].activate(out);
                in = out;
            }
            INDArray p = b.activations[n - 1];
            double score = score(p, y, b);
            // Backprop: softmax with cross-entropy gives p − y at the logits; dividing by the minibatch size here is
            // DL4J's updater dividing the whole gradient, moved before the (linear) backprop.
            INDArray delta = b.deltas[n - 1];
            delta.assign(p).subi(y).divi(m);
            for (int i = n - 1; i >= 0; i--) {
                INDArray input = i == 0 ? first : b.activations[i - 1];
                Nd4j.gemm(input, delta, layers[i].weightGradient, true, false, 1.0, 0.0);
                delta.sum(layers[i].biasGradient, 0);
                if (i == 0 && convs != null) {
                    Nd4j.gemm(delta, layers[0].weights, convs.outputGradient((int) m), false, true, 1.0, 0.0);
                    convs.backward((int) m);
                } else if (i > 0) {
                    INDArray below = b.deltas[i - 1];
                    Nd4j.gemm(delta, layers[i].weights, below, false, true, 1.0, 0.0);
                    layers[i - 1].backprop(b.activations[i - 1], below, b.scratch[i - 1]);
                    delta = below;
                }
            }
            int iteration = network.getConfiguration().getIterationCount();
            int epoch = network.getConfiguration().getEpochCount();
            adam.step(iteration, epoch);
            network.getConfiguration().setIterationCount(iteration + 1);
            network.setScore(score);
        }
    }

    /**
     * DL4J's score for softmax with cross-entropy: the mean over the minibatch of −Σ y log p, with p clipped to
     * [1e-10, 1 − 1e-10]. Computed here in Java from copies of the two small arrays, where ND4J would take five ops.
     */
    private double score(INDArray p, INDArray y, Buffers b) {
        if (!NativeFloats.whole(y) || !NativeFloats.whole(p)) {
            return -Transforms.log(Transforms.min(Transforms.max(p, 1e-10, true), 1 - 1e-10, false), false)
                    .muli(y).sumNumber().doubleValue() / p.size(0);
        }
        b.probabilities = NativeFloats.buffer(p, b.probabilities);
        b.labels = NativeFloats.buffer(y, b.labels);
        int rows = (int) p.size(0);
        int columns = (int) p.size(1);
        double sum = 0;
        for (int i = 0; i < rows; i++) {
            for (int c = 0; c < columns; c++) {
                float label = b.labels[y.ordering() == 'c' ? i * columns + c : c * rows + i];
                if (label != 0) {
                    float prob = b.probabilities[p.ordering() == 'c' ? i * columns + c : c * rows + i];
                    sum += label * Math.log(Math.min(Math.max(prob, 1e-10), 1 - 1e-10));
                }
            }
        }
        return -sum / rows;
    }

    private Buffers allocate(long m) {
        Buffers b = new Buffers(layers.length);
        for (int i = 0; i < layers.length; i++) {
            b.activations[i] = Nd4j.create(DataType.FLOAT, new long[] {m, layers[i].nOut}, 'f');
            b.deltas[i] = Nd4j.create(DataType.FLOAT, new long[] {m, layers[i].nOut}, 'f');
            b.scratch[i] = layers[i].needsScratch() ? Nd4j.create(DataType.FLOAT, new long[] {m, layers[i].nOut}, 'f')
                    : null;
        }
        return b;
    }

    /** The network's layer vertices from input to output, or null when it is not one chain. */
    private static List<LayerVertex> chain(ComputationGraph network) {
        if (network.getNumInputArrays() != 1 || network.getNumOutputArrays() != 1) {
            return null;
        }
        GraphVertex[] vertices = network.getVertices();
        int[] order = network.topologicalSortOrder();
        List<LayerVertex> chain = new ArrayList<>();
        int previous = -1;
        for (int index : order) {
            GraphVertex v = vertices[index];
            if (v.isInputVertex()) {
                if (previous != -1) {
                    return null;
                }
                previous = index;
                continue;
            }
            VertexIndices[] inputs = v.getInputVertices();
            if (!(v instanceof LayerVertex lv) || inputs == null || inputs.length != 1
                    || inputs[0].getVertexIndex() != previous) {
                return null;
            }
            chain.add(lv);
            previous = index;
        }
        return chain.isEmpty() || !vertices[previous].isOutputVertex() ? null : chain;
    }

    private static boolean empty(List<?> list) {
        return list == null || list.isEmpty();
    }

    private static final class Buffers {
        final INDArray[] activations;
        final INDArray[] deltas;
        final INDArray[] scratch;
        float[] probabilities;
        float[] labels;

        Buffers(int layers) {
            activations = new INDArray[layers];
            deltas = new INDArray[layers];
            scratch = new INDArray[layers];
        }
    }
}

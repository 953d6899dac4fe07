package dev.anneal.core.task;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;

import java.util.List;

/**
 * A bottleneck adapter (Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for NLP"; for convolutions the
 * series residual adapter of Rebuffi et al. 2017, "Learning multiple visual domains with residual adapters"):
 * {@code y = x + W_up · relu(W_down · x + b_down) + b_up}, {@code x} of width {@code n}, the bottleneck of width
 * {@code k}. Inserted after a frozen encoder layer, it trains {@code 2·n·k + n + k} parameters instead of the
 * layer's own. {@code W_up} starts at zero, so a fresh adapter is the identity and fine-tuning starts from the
 * pretrained encoder's exact output.
 *
 * <p>Built from DL4J layers, one shape per kind of layer it follows, the residual sum an {@link ElementWiseVertex}:
 * <ul>
 *   <li>after a recurrent layer ({@code [batch, n, time]}, NCW): two 1-wide convolutions over time, which apply
 *       one dense map to every step and pass the sequence mask through;</li>
 *   <li>after a 2-D convolution ({@code [batch, n, height, width]}, NCHW, {@code n} channels): two 1×1
 *       convolutions, one dense map of the channels at every pixel;</li>
 *   <li>after a dense layer ({@code [batch, n]}): two dense layers.</li>
 * </ul>
 * {@code BottleneckAdapterGradientTest} checks each shape's gradient numerically.
 */
public final class BottleneckAdapter {
    static final String DOWN = "_down";
    static final String UP = "_up";

    private BottleneckAdapter() {
    }

    /** The names of the adapter's two trainable layers, for {@code name}. */
    public static List<String> layers(String name) {
        return List.of(name + DOWN, name + UP);
    }

    /** Trainable parameters of one adapter of width {@code n} and bottleneck {@code k}. */
    public static long parameters(long n, long k) {
        return 2 * n * k + n + k;
    }

    /** Whether an adapter goes after a layer of this configuration: a recurrent, 2-D convolution or dense layer. */
    public static boolean fits(Layer conf) {
        // A plain 2-D convolution only: its subclasses (1-D, depthwise, transposed, ...) lay out other shapes.
        return conf instanceof BaseRecurrentLayer || conf instanceof DenseLayer
                || conf != null && conf.getClass() == ConvolutionLayer.class;
    }

    /**
     * Adds the adapter called {@code name} over {@code input}, the output of a layer configured as {@code after}
     * (one that {@link #fits}) of width {@code n}; its output is the vertex {@code name}. The two layers come back
     * unconfigured for the caller's updater and regularization.
     */
    public static List<FeedForwardLayer> add(ComputationGraphConfiguration.GraphBuilder graph, String name,
                                             String input, Layer after, long n, long k) {
        if (after instanceof BaseRecurrentLayer) {
            return List.copyOf(add(graph, name, input, n, k));
        }
        FeedForwardLayer down;
        FeedForwardLayer up;
        if (after instanceof DenseLayer) {
            down = new DenseLayer.Builder().nIn(n).nOut(k).activation(Activation.RELU)
                    .weightInit(WeightInit.XAVIER).build();
            up = new DenseLayer.Builder().nIn(k).nOut(n).activation(Activation.IDENTITY)
                    .weightInit(WeightInit.ZERO).build();
        } else if (fits(after)) {
            down = new ConvolutionLayer.Builder(1, 1).stride(1, 1).nIn(n).nOut(k).activation(Activation.RELU)
                    .weightInit(WeightInit.XAVIER).build();
            up = new ConvolutionLayer.Builder(1, 1).stride(1, 1).nIn(k).nOut(n).activation(Activation.IDENTITY)
                    .weightInit(WeightInit.ZERO).build();
        } else {
            throw new IllegalArgumentException("no adapter for a " + after.getClass().getSimpleName() + " layer");
        }
        return wire(graph, name, input, down, up);
    }

    /**
     * Adds the recurrent adapter called {@code name} over {@code input} (of width {@code n}, NCW); its output is
     * the vertex {@code name}.
     */
    public static List<Convolution1DLayer> add(ComputationGraphConfiguration.GraphBuilder graph, String name,
                                               String input, long n, long k) {
        Convolution1DLayer down = new Convolution1DLayer.Builder()
                .kernelSize(1).stride(1).nIn(n).nOut(k)
                .activation(Activation.RELU)
                .weightInit(WeightInit.XAVIER)
                .rnnDataFormat(RNNFormat.NCW)
                .build();
        Convolution1DLayer up = new Convolution1DLayer.Builder()
                .kernelSize(1).stride(1).nIn(k).nOut(n)
                .activation(Activation.IDENTITY)
                .weightInit(WeightInit.ZERO)
                .rnnDataFormat(RNNFormat.NCW)
                .build();
        wire(graph, name, input, down, up);
        return List.of(down, up);
    }

    private static <L extends FeedForwardLayer> List<L> wire(ComputationGraphConfiguration.GraphBuilder graph,
                                                             String name, String input, L down, L up) {
        graph.addLayer(name + DOWN, down, input);
        graph.addLayer(name + UP, up, name + DOWN);
        graph.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), input, name + UP);
        return List.of(down, up);
    }
}

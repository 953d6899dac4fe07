package dev.anneal.core.task;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;

import java.util.List;

/**
 * A bottleneck adapter (Houlsby et al. 2019, "Parameter-Efficient Transfer Learning for NLP") over a recurrent
 * layer's output at every time step: {@code y = x + W_up · relu(W_down · x + b_down) + b_up}, {@code x} of width
 * {@code n}, the bottleneck of width {@code k}. Inserted after a frozen encoder layer, it trains
 * {@code 2·n·k + n + k} parameters instead of the layer's own. {@code W_up} starts at zero, so a fresh adapter is
 * the identity and fine-tuning starts from the pretrained encoder's exact output.
 *
 * <p>Built from DL4J layers: the two projections are 1-wide convolutions over time ({@code [batch, n, time]}, NCW),
 * which apply one dense map to every step and pass the sequence mask through, and the residual sum is an
 * {@link ElementWiseVertex}. {@code BottleneckAdapterGradientTest} checks the whole adapter's gradient numerically.
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

    /**
     * Adds the adapter called {@code name} over {@code input} (of width {@code n}); its output is the vertex
     * {@code name}. The two layers come back unconfigured for the caller's updater and regularization.
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
        graph.addLayer(name + DOWN, down, input);
        graph.addLayer(name + UP, up, name + DOWN);
        graph.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), input, name + UP);
        return List.of(down, up);
    }
}

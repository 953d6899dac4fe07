package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A small convolutional network for images: blocks {@code conv_i} (k×k, stride 1, valid, ReLU) and {@code pool_i}
 * (max 2×2, stride 2), then a ReLU layer {@code dense}, then the {@code head}.
 *
 * <p>Input: <b>flat</b> rows {@code [batch, channels·height·width]} (e.g. the 784 pixels of a Fashion-MNIST image),
 * read in channel-major, then row-major order ({@code [c][y][x]}, C order), which DL4J reshapes to
 * {@code [batch, channels, height, width]} itself. Flat rows were chosen so image data sets can share the plain
 * feature-matrix pipeline of the MLP. Output: {@code [batch, nOut]}.
 *
 * @param height image height in pixels
 * @param width image width in pixels
 * @param channels image channels, e.g. 1 for greyscale
 * @param convChannels output channels of each convolution block, input side first; at least one block
 * @param kernelSize side of the square convolution kernels
 * @param denseSize width of the {@code dense} layer
 * @param nOut number of outputs
 * @param loss the head's loss, which also fixes its activation
 * @param dropout probability of dropping each {@code dense} output while training (dropout before the head); 0 = none
 */
public record CnnSpec(int height, int width, int channels, List<Integer> convChannels, int kernelSize,
                      int denseSize, int nOut, Loss loss, double dropout) implements NetworkSpec {

    /** Without dropout. */
    public CnnSpec(int height, int width, int channels, List<Integer> convChannels, int kernelSize, int denseSize,
                   int nOut, Loss loss) {
        this(height, width, channels, convChannels, kernelSize, denseSize, nOut, loss, 0);
    }

    /** The name of the encoder's last layer, the one a task head reads. */
    static final String DENSE = "dense";

    public CnnSpec {
        convChannels = checkedEncoder(height, width, channels, convChannels, kernelSize, denseSize, dropout);
        Checks.positive("nOut", nOut);
        Checks.loss(loss, nOut);
    }

    /**
     * Checks the settings of the encoder this spec and {@link CnnAutoencoderSpec} share, failing with the name of
     * the first bad one; returns {@code convChannels} as an immutable list.
     */
    static List<Integer> checkedEncoder(int height, int width, int channels, List<Integer> convChannels,
                                        int kernelSize, int denseSize, double dropout) {
        Checks.positive("height", height);
        Checks.positive("width", width);
        Checks.positive("channels", channels);
        List<Integer> sizes = Checks.positiveSizes("convChannels", convChannels);
        if (sizes.isEmpty()) {
            throw new IllegalArgumentException("convChannels must not be empty");
        }
        Checks.positive("kernelSize", kernelSize);
        Checks.positive("denseSize", denseSize);
        checkSpatialSize(height, width, sizes.size(), kernelSize);
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
        return sizes;
    }

    /** The length of a flat input row, {@code channels·height·width}. */
    public int flatInputSize() {
        return flatSize(height, width, channels);
    }

    static int flatSize(int height, int width, int channels) {
        return Math.multiplyExact(Math.multiplyExact(channels, height), width);
    }

    @Override
    public ComputationGraphConfiguration configuration(long seed, IUpdater updater, DataType dataType) {
        LayerChain chain = encoderChain(seed, updater, dataType, height, width, channels, convChannels, kernelSize,
                denseSize);
        OutputLayer.Builder head = new OutputLayer.Builder(loss.lossFunction())
                .nOut(nOut)
                .activation(loss.outputActivation());
        if (dropout > 0) {
            // DL4J's dropout is set on the layer whose input it drops, and takes the probability of keeping.
            head.dropOut(1 - dropout);
        }
        chain.add(HEAD, head.build());
        return chain.build();
    }

    @Override
    public List<String> encoderLayers() {
        return encoderLayers(convChannels.size());
    }

    /**
     * A chain reading flat {@code channels·height·width} rows, with the encoder this spec and
     * {@link CnnAutoencoderSpec} share already added.
     */
    static LayerChain encoderChain(long seed, IUpdater updater, DataType dataType, int height, int width,
                                   int channels, List<Integer> convChannels, int kernelSize, int denseSize) {
        LayerChain chain = new LayerChain(seed, updater, dataType,
                InputType.convolutionalFlat(height, width, channels));
        addEncoder(chain, convChannels, kernelSize, denseSize);
        return chain;
    }

    /**
     * Appends the encoder: the {@code conv_i}/{@code pool_i} blocks, then {@code dense}. Shared with
     * {@link CnnAutoencoderSpec}, so that an autoencoder's encoder is this one, layer for layer, and everything
     * fine-tuning does to a CNN's encoder works on it unchanged.
     */
    static void addEncoder(LayerChain chain, List<Integer> convChannels, int kernelSize, int denseSize) {
        for (int i = 0; i < convChannels.size(); i++) {
            chain.add(convName(i), new ConvolutionLayer.Builder(kernelSize, kernelSize)
                    .stride(1, 1)
                    .nOut(convChannels.get(i))
                    .activation(Activation.RELU)
                    .weightInit(WeightInit.RELU)
                    .build());
            chain.add(poolName(i), new SubsamplingLayer.Builder(PoolingType.MAX)
                    .kernelSize(2, 2)
                    .stride(2, 2)
                    .build());
        }
        chain.add(DENSE, new DenseLayer.Builder()
                .nOut(denseSize)
                .activation(Activation.RELU)
                .weightInit(WeightInit.RELU)
                .build());
    }

    /** The names {@link #addEncoder} gives an encoder of {@code blocks} convolution blocks, in order. */
    static List<String> encoderLayers(int blocks) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            names.add(convName(i));
            names.add(poolName(i));
        }
        names.add(DENSE);
        return List.copyOf(names);
    }

    @Override
    public String kind() {
        return "cnn";
    }

    private static String convName(int i) {
        return "conv_" + i;
    }

    private static String poolName(int i) {
        return "pool_" + i;
    }

    // Fails here, naming the block, rather than deep inside DL4J's shape inference.
    static void checkSpatialSize(int height, int width, int blocks, int kernelSize) {
        int h = height;
        int w = width;
        for (int i = 0; i < blocks; i++) {
            h = h - kernelSize + 1;
            w = w - kernelSize + 1;
            if (h < 2 || w < 2) {
                throw new IllegalArgumentException("kernelSize " + kernelSize + " is too large for a " + height
                        + "x" + width + " input: conv_" + i + " would output " + Math.max(h, 0) + "x"
                        + Math.max(w, 0) + ", but pool_" + i + " needs at least 2x2");
            }
            h /= 2;
            w /= 2;
        }
    }
}

package dev.anneal.core.net;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.Upsampling2D;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * A convolutional autoencoder for images, trained without labels to reconstruct its input. Its encoder is
 * {@link CnnSpec}'s, built by the same code: blocks {@code conv_i} (k×k, stride 1, valid, ReLU) and {@code pool_i}
 * (max 2×2, stride 2), then {@code dense}, so a task head attaches to {@code dense} and freezing, per-group learning
 * rates and adapters treat it exactly as a supervised CNN's.
 *
 * <p>The decoder mirrors the encoder: {@code decoder_dense} (ReLU) widens the code to the last pooled feature map,
 * which is reshaped to {@code [channels_last, h, w]}; then, block by block from the last, {@code decoder_up_i}
 * doubles the map (nearest-neighbour {@code Upsampling2D}), {@code decoder_pad_i} adds the bottom row and/or right
 * column that {@code pool_i} dropped from an odd size (only where it did), and {@code decoder_deconv_i}, a k×k
 * transposed convolution of stride 1, turns a map of side {@code s} into one of {@code s + k − 1}: the size
 * {@code conv_i} read. Each maps {@code conv_i}'s channels back to its input's, with ReLU, except the last
 * ({@code decoder_deconv_0}), whose linear output is {@code channels} logits a pixel.
 *
 * <p>The {@code head} is a parameter-free {@code LossLayer}: sigmoid, and binary cross-entropy against the input
 * pixels, which are in [0, 1] ({@link ImageBatches}); the labels of a minibatch are its features. The
 * cross-entropy's gradient at the logits is {@code p − x}, as for 0/1 targets ({@link Loss#BINARY_CROSS_ENTROPY}'s
 * derivation holds for any target in [0, 1]). Input and output are flat rows {@code [batch, channels·height·width]}
 * in the same {@code [c][y][x]} order.
 *
 * @param height       image height in pixels
 * @param width        image width in pixels
 * @param channels     image channels, e.g. 1 for greyscale
 * @param convChannels output channels of each encoder convolution block, input side first; at least one block
 * @param kernelSize   side of the square convolution (and transposed convolution) kernels
 * @param denseSize    width of the {@code dense} code
 * @param dropout      probability of dropping each {@code dense} output while training (before the decoder); 0 = none
 */
public record CnnAutoencoderSpec(int height, int width, int channels, List<Integer> convChannels, int kernelSize,
                                 int denseSize, double dropout) implements NetworkSpec {

    /** The kind a checkpoint's manifest records. */
    public static final String KIND = "cnn-autoencoder";

    /** The decoder's first layer, which reads the encoder's {@code dense} code. */
    public static final String DECODER_DENSE = "decoder_dense";

    public CnnAutoencoderSpec {
        convChannels = CnnSpec.checkedEncoder(height, width, channels, convChannels, kernelSize, denseSize, dropout);
    }

    /** Without dropout. */
    public CnnAutoencoderSpec(int height, int width, int channels, List<Integer> convChannels, int kernelSize,
                              int denseSize) {
        this(height, width, channels, convChannels, kernelSize, denseSize, 0);
    }

    /** The length of a flat input row, and of an output row: {@code channels·height·width}. */
    public int flatInputSize() {
        return CnnSpec.flatSize(height, width, channels);
    }

    @Override
    public ComputationGraphConfiguration configuration(long seed, IUpdater updater, DataType dataType) {
        LayerChain chain = CnnSpec.encoderChain(seed, updater, dataType, height, width, channels, convChannels,
                kernelSize, denseSize);
        List<int[]> sizes = mirror(height, width, convChannels.size(), kernelSize);
        int blocks = convChannels.size();
        int[] code = sizes.get(blocks);
        int last = convChannels.get(blocks - 1);
        DenseLayer.Builder widen = new DenseLayer.Builder()
                .nOut((long) last * code[0] * code[1])
                .activation(Activation.RELU)
                .weightInit(WeightInit.RELU);
        if (dropout > 0) {
            // DL4J's dropout is set on the layer whose input it drops, and takes the probability of keeping.
            widen.dropOut(1 - dropout);
        }
        chain.add(DECODER_DENSE, widen.build());
        for (int i = blocks - 1; i >= 0; i--) {
            Upsampling2D.Builder up = new Upsampling2D.Builder(2);
            if (i == blocks - 1) {
                // DL4J infers no reshape from a dense layer's vector to a feature map; the flat order is [c][y][x].
                chain.add(upName(i), up.build(), new FeedForwardToCnnPreProcessor(code[0], code[1], last));
            } else {
                chain.add(upName(i), up.build());
            }
            int[] pooled = sizes.get(i + 1);
            int[] convolved = convolved(sizes.get(i), kernelSize);
            int padRows = convolved[0] - 2 * pooled[0];
            int padCols = convolved[1] - 2 * pooled[1];
            if (padRows > 0 || padCols > 0) {
                chain.add(padName(i), new ZeroPaddingLayer.Builder(0, padRows, 0, padCols).build());
            }
            boolean output = i == 0;
            chain.add(deconvName(i), new Deconvolution2D.Builder(kernelSize, kernelSize)
                    .stride(1, 1)
                    .nOut(output ? channels : convChannels.get(i - 1))
                    .activation(output ? Activation.IDENTITY : Activation.RELU)
                    .weightInit(output ? WeightInit.XAVIER : WeightInit.RELU)
                    .build());
        }
        // DL4J flattens the [channels, height, width] logits to the input's [c][y][x] order before the loss.
        LossLayer head = new LossLayer.Builder(Loss.BINARY_CROSS_ENTROPY.lossFunction())
                .activation(Loss.BINARY_CROSS_ENTROPY.outputActivation())
                .build();
        // Its builder refuses a width (the layer has no parameters); set, its output type is the row it emits.
        head.setNOut(flatInputSize());
        chain.add(HEAD, head);
        return chain.build();
    }

    @Override
    public List<String> encoderLayers() {
        return CnnSpec.encoderLayers(convChannels.size());
    }

    /** The decoder's layer names, from {@code decoder_dense} to {@code decoder_deconv_0}; the head is not among them. */
    public List<String> decoderLayers() {
        List<String> names = new ArrayList<>(List.of(DECODER_DENSE));
        List<int[]> sizes = mirror(height, width, convChannels.size(), kernelSize);
        for (int i = convChannels.size() - 1; i >= 0; i--) {
            names.add(upName(i));
            int[] convolved = convolved(sizes.get(i), kernelSize);
            int[] pooled = sizes.get(i + 1);
            if (convolved[0] != 2 * pooled[0] || convolved[1] != 2 * pooled[1]) {
                names.add(padName(i));
            }
            names.add(deconvName(i));
        }
        return List.copyOf(names);
    }

    /** The head reconstructs every pixel with a sigmoid and binary cross-entropy. */
    @Override
    public Loss loss() {
        return Loss.BINARY_CROSS_ENTROPY;
    }

    @Override
    public String kind() {
        return KIND;
    }

    private static String upName(int i) {
        return "decoder_up_" + i;
    }

    private static String padName(int i) {
        return "decoder_pad_" + i;
    }

    private static String deconvName(int i) {
        return "decoder_deconv_" + i;
    }

    private static int[] convolved(int[] size, int kernelSize) {
        return new int[] {size[0] - kernelSize + 1, size[1] - kernelSize + 1};
    }

    /**
     * The spatial size {@code [rows, cols]} entering each encoder block, then the size of the last pooled map. Every
     * encoder {@link CnnSpec#checkSpatialSize} accepts mirrors exactly: 2×2 pooling of a side {@code c} leaves
     * {@code ⌊c/2⌋}, so upsampling and at most one row or column of padding give back {@code c}, and the transposed
     * convolution {@code c + k − 1}, the side {@code conv_i} read. The sizes that cannot be mirrored are those
     * whose encoder cannot be built, and the constructor refuses them there, naming the block.
     */
    private static List<int[]> mirror(int height, int width, int blocks, int kernelSize) {
        List<int[]> sizes = new ArrayList<>();
        int[] s = {height, width};
        sizes.add(s);
        for (int i = 0; i < blocks; i++) {
            int[] c = convolved(s, kernelSize);
            s = new int[] {c[0] / 2, c[1] / 2};
            sizes.add(s);
        }
        return sizes;
    }
}

package dev.anneal.core.net;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The convolutional front of a chain that {@link ChainTrainer} trains: {@link CnnSpec}'s encoder blocks
 * ({@link ConvPool}), from DL4J's flat image rows ({@code [m, channels·height·width]}, channel-major) to the flat
 * input of the first dense layer, in the order DL4J's {@code CnnToFeedForwardPreProcessor} gives it.
 */
final class ConvBlocks {
    private final ConvPool[] blocks;
    private final int channels;
    private final int height;
    private final int width;
    /** The length of a flat input row. */
    final int inputSize;
    /** The length of a row of the first dense layer's input. */
    final int outputSize;
    private final Map<Integer, Buffers> buffers = new HashMap<>();

    private ConvBlocks(List<LayerVertex> front) {
        FeedForwardToCnnPreProcessor input = (FeedForwardToCnnPreProcessor) front.get(0).getLayerPreProcessor();
        channels = (int) input.getNumChannels();
        height = (int) input.getInputHeight();
        width = (int) input.getInputWidth();
        inputSize = channels * height * width;
        blocks = new ConvPool[front.size() / 2];
        int h = height;
        int w = width;
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = new ConvPool(front.get(2 * i).getLayer(), h, w, i == 0);
            h = blocks[i].outHeight();
            w = blocks[i].outWidth();
        }
        ConvPool last = blocks[blocks.length - 1];
        outputSize = last.outChannels * h * w;
    }

    /** The front of {@code chain} (its first {@code length} layers), or null when it has none. */
    static ConvBlocks of(List<LayerVertex> chain, int length) {
        return length == 0 ? null : new ConvBlocks(chain.subList(0, length));
    }

    /** How many of the chain's first layers are convolutions or pooling layers. */
    static int frontLength(List<LayerVertex> chain) {
        int n = 0;
        while (n < chain.size() && (chain.get(n).getLayer().conf().getLayer() instanceof ConvolutionLayer
                || chain.get(n).getLayer().conf().getLayer() instanceof SubsamplingLayer)) {
            n++;
        }
        return n;
    }

    /**
     * Why the chain's front of {@code length} layers, and the preprocessors anywhere in the chain, are not what this
     * class reproduces, or null when they are: pairs of a valid, stride-1, undilated {@code ConvolutionLayer} with
     * bias and plain ReLU and a 2×2, stride-2 max {@code SubsamplingLayer} (an odd last row or column dropped, as
     * DL4J's truncating pooling does), all NCHW, fed by
     * DL4J's {@code FeedForwardToCnnPreProcessor} and read by a {@code CnnToFeedForwardPreProcessor}; no other
     * preprocessors.
     */
    static String unsupportedReason(List<LayerVertex> chain, int length) {
        for (int i = 0; i < chain.size(); i++) {
            InputPreProcessor pre = chain.get(i).getLayerPreProcessor();
            boolean expected = length > 0 && (i == 0 || i == length);
            if (!expected && pre != null) {
                return "layer " + chain.get(i).getVertexName() + " has a preprocessor (" + pre.getClass().getSimpleName()
                        + ")";
            }
        }
        if (length == 0) {
            return null;
        }
        if (length % 2 != 0 || length == chain.size()) {
            return "the convolutions are not pairs of a convolution and a pooling layer followed by dense layers";
        }
        if (!(chain.get(0).getLayerPreProcessor() instanceof FeedForwardToCnnPreProcessor input)) {
            return "the first convolution does not read flat image rows";
        }
        if (!(chain.get(length).getLayerPreProcessor() instanceof CnnToFeedForwardPreProcessor output)
                || output.getFormat() != CNN2DFormat.NCHW) {
            return "the layer after the convolutions does not read them through an NCHW CnnToFeedForwardPreProcessor";
        }
        long channels = input.getNumChannels();
        long h = input.getInputHeight();
        long w = input.getInputWidth();
        for (int i = 0; i < length; i += 2) {
            String reason = convReason(chain.get(i), channels);
            if (reason == null) {
                reason = poolReason(chain.get(i + 1));
            }
            if (reason != null) {
                return reason;
            }
            ConvolutionLayer conv = (ConvolutionLayer) chain.get(i).getLayer().conf().getLayer();
            h = h - conv.getKernelSize()[0] + 1;
            w = w - conv.getKernelSize()[1] + 1;
            if (h < 2 || w < 2) {
                return "layer " + chain.get(i).getVertexName() + " outputs " + h + "x" + w + ", less than the "
                        + "pooling's 2x2";
            }
            h /= 2;
            w /= 2;
            channels = conv.getNOut();
        }
        if (output.getInputHeight() != h || output.getInputWidth() != w || output.getNumChannels() != channels) {
            return "the CnnToFeedForwardPreProcessor's shape is not the convolutions' output";
        }
        return null;
    }

    private static String convReason(LayerVertex vertex, long channels) {
        if (vertex.getLayer().conf().getLayer().getClass() != ConvolutionLayer.class) {
            return "layer " + vertex.getVertexName() + " is not a ConvolutionLayer";
        }
        ConvolutionLayer conv = (ConvolutionLayer) vertex.getLayer().conf().getLayer();
        String name = "layer " + vertex.getVertexName();
        if (!Arrays.equals(conv.getStride(), new int[] {1, 1}) || !Arrays.equals(conv.getPadding(), new int[] {0, 0})
                || !Arrays.equals(conv.getDilation(), new int[] {1, 1})
                || (conv.getConvolutionMode() != ConvolutionMode.Truncate
                    && conv.getConvolutionMode() != ConvolutionMode.Strict)) {
            return name + " is not a valid, stride-1, undilated convolution";
        }
        if (!conv.hasBias() || conv.getCnn2dDataFormat() != CNN2DFormat.NCHW || conv.getNIn() != channels) {
            return name + " has no bias, is not NCHW, or does not read " + channels + " channels";
        }
        if (!(conv.getActivationFn() instanceof ActivationReLU relu) || !relu.equals(new ActivationReLU())) {
            return name + " has activation " + conv.getActivationFn() + ", not ReLU";
        }
        return null;
    }

    private static String poolReason(LayerVertex vertex) {
        String name = "layer " + vertex.getVertexName();
        if (vertex.getLayer().conf().getLayer().getClass() != SubsamplingLayer.class) {
            return name + " is not a SubsamplingLayer after a convolution";
        }
        SubsamplingLayer pool = (SubsamplingLayer) vertex.getLayer().conf().getLayer();
        if (pool.getPoolingType() != PoolingType.MAX || !Arrays.equals(pool.getKernelSize(), new int[] {2, 2})
                || !Arrays.equals(pool.getStride(), new int[] {2, 2})
                || !Arrays.equals(pool.getPadding(), new int[] {0, 0})
                || !Arrays.equals(pool.getDilation(), new int[] {1, 1})
                || pool.getCnn2dDataFormat() != CNN2DFormat.NCHW
                || (pool.getConvolutionMode() != ConvolutionMode.Truncate
                    && pool.getConvolutionMode() != ConvolutionMode.Strict)) {
            return name + " is not 2x2 max pooling with stride 2, unpadded, NCHW";
        }
        if (pool.getIDropout() != null || (pool.getConstraints() != null && !pool.getConstraints().isEmpty())) {
            return name + " has dropout or constraints";
        }
        return null;
    }

    /**
     * The first dense layer's input, {@code [m, outputSize]} in C order, from flat image rows {@code features}
     * ({@code [m, inputSize]}); it stays valid until the next forward pass with the same minibatch size.
     */
    INDArray forward(INDArray features) {
        int m = (int) features.size(0);
        Buffers b = buffers.computeIfAbsent(m, Buffers::new);
        INDArray rows = NativeFloats.whole(features) && features.ordering() == 'c' ? features : features.dup('c');
        float[] x = NativeFloats.buffer(rows, b.features);
        if (channels > 1) {
            for (int n = 0; n < m; n++) {
                ConvKernels.toChannelsLast(x, n * inputSize, channels, height, width, b.channelsLast);
            }
            x = b.channelsLast;
        }
        for (ConvPool block : blocks) {
            x = block.forward(x, m);
        }
        ConvPool last = blocks[blocks.length - 1];
        for (int n = 0; n < m; n++) {
            ConvKernels.toChannelsFirst(x, n * outputSize, last.outHeight(), last.outWidth(), last.outChannels,
                    b.flat);
        }
        NativeFloats.view(b.output).put(0, b.flat);
        return b.output;
    }

    /** Where the caller writes the gradient at {@link #forward}'s output before {@link #backward}. */
    INDArray outputGradient(int m) {
        return buffers.get(m).outputGradient;
    }

    /** Backprop through the blocks from the gradient in {@link #outputGradient}, into the network's gradients. */
    void backward(int m) {
        Buffers b = buffers.get(m);
        ConvPool last = blocks[blocks.length - 1];
        NativeFloats.view(b.outputGradient).get(0, b.flat);
        for (int n = 0; n < m; n++) {
            ConvKernels.toChannelsLast(b.flat, n * outputSize, last.outChannels, last.outHeight(), last.outWidth(),
                    b.gradient);
        }
        float[] g = b.gradient;
        for (int i = blocks.length - 1; i >= 0; i--) {
            g = blocks[i].backward(g, m);
        }
    }

    /** A minibatch size's arrays. */
    private final class Buffers {
        final float[] features;
        final float[] channelsLast;
        final float[] flat;
        final float[] gradient;
        final INDArray output;
        final INDArray outputGradient;

        Buffers(int m) {
            features = new float[m * inputSize];
            channelsLast = channels > 1 ? new float[m * inputSize] : null;
            flat = new float[m * outputSize];
            gradient = new float[m * outputSize];
            output = Nd4j.create(DataType.FLOAT, new long[] {m, outputSize}, 'c');
            outputGradient = Nd4j.create(DataType.FLOAT, new long[] {m, outputSize}, 'c');
        }
    }
}

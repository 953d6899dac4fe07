package dev.anneal.core.net;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One block of {@link CnnSpec}'s encoder for {@link ChainTrainer}: a valid, stride-1 {@code ConvolutionLayer}
 * with bias and ReLU, then 2×2 max pooling with stride 2, as one step. Activations live in Java arrays in NHWC order
 * ({@link ConvKernels}); the three products per block (forward, weight gradient, input gradient) are ND4J GEMMs on
 * native copies. The bias and ReLU come after the pooling, on a quarter of the values: max over a window of
 * {@code z + b} is {@code max(z) + b}, and ReLU commutes with max, so the block's output is DL4J's up to the order
 * of float rounding.
 *
 * <p>DL4J keeps a convolution's weights as {@code [out, in, kh, kw]}; the columns here are in {@code (kh, kw, in)}
 * order, so each step permutes the (small) weights into {@code [out, kh, kw, in]} and the weight gradient back.
 */
final class ConvPool {
    /** Kernel rows of at least this many values are copied into the native columns one bulk copy each. */
    private static final int DIRECT_RUN = 64;
    /**
     * About how many bytes of columns a group of images makes: a size whose GEMMs run from cache. Tests lower it to
     * put a few images in each group.
     */
    static int groupBytes = 3 << 20;
    final String name;
    final int inHeight;
    final int inWidth;
    final int inChannels;
    final int kernelHeight;
    final int kernelWidth;
    final int outChannels;
    /**
     * The convolution's output size that the pooling reads: all of it, or all but an odd last row or column, which
     * DL4J's pooling drops and which is not computed here (its gradient is zero).
     */
    final int convHeight;
    final int convWidth;
    private final INDArray weights;
    private final INDArray bias;
    private final INDArray weightGradient;
    private final INDArray biasGradient;
    private final boolean first;
    private final float[] weightsHeap;
    private final float[] permutedHeap;
    private final float[] biasHeap;
    private final float[] biasGradientHeap;
    private final Map<Integer, Buffers> buffers = new HashMap<>();

    ConvPool(Layer conv, int inHeight, int inWidth, boolean first) {
        ConvolutionLayer conf = (ConvolutionLayer) conv.conf().getLayer();
        this.name = conf.getLayerName();
        this.weights = conv.getParam("W");
        this.bias = conv.getParam("b");
        Map<String, INDArray> gradients = conf.initializer().getGradientsFromFlattened(conv.conf(),
                conv.getGradientsViewArray());
        this.weightGradient = gradients.get("W");
        this.biasGradient = gradients.get("b");
        this.outChannels = (int) weights.size(0);
        this.inChannels = (int) weights.size(1);
        this.kernelHeight = (int) weights.size(2);
        this.kernelWidth = (int) weights.size(3);
        this.inHeight = inHeight;
        this.inWidth = inWidth;
        this.convHeight = ConvKernels.pooledSpan(inHeight, kernelHeight);
        this.convWidth = ConvKernels.pooledSpan(inWidth, kernelWidth);
        this.first = first;
        if (weights.rank() != 4 || weightGradient == null || biasGradient == null
                || bias.length() != outChannels || weightGradient.length() != weights.length()) {
            throw new IllegalStateException("layer " + name + ": DL4J's convolution parameter layout is not the one "
                    + "this trainer expects");
        }
        // view() refuses any of the four that is not one C-ordered run of memory.
        NativeFloats.view(weights);
        NativeFloats.view(weightGradient);
        NativeFloats.view(bias);
        NativeFloats.view(biasGradient);
        this.weightsHeap = new float[(int) weights.length()];
        this.permutedHeap = new float[weightsHeap.length];
        this.biasHeap = new float[outChannels];
        this.biasGradientHeap = new float[outChannels];
    }

    int outHeight() {
        return convHeight / 2;
    }

    int outWidth() {
        return convWidth / 2;
    }

    /** The length of one unrolled column row: the input under the kernel. */
    private int kernelVolume() {
        return kernelHeight * kernelWidth * inChannels;
    }

    /**
     * The block's output, {@code [m, outHeight, outWidth, outChannels]} in a Java array this block owns until the
     * next forward pass with the same minibatch size, from {@code x}, {@code [m, inHeight, inWidth, inChannels]}.
     * The minibatch goes through in groups of images whose columns fit in cache ({@link #groupBytes}): the GEMM of
     * a group that has just been unrolled runs about a third faster than one over the whole minibatch's columns.
     */
    float[] forward(float[] x, int m) {
        Buffers b = buffers.computeIfAbsent(m, Buffers::new);
        int inImage = inHeight * inWidth * inChannels;
        int colsImage = convHeight * convWidth * kernelVolume();
        int zImage = convHeight * convWidth * outChannels;
        int outImage = outHeight() * outWidth() * outChannels;
        permuteWeights();
        NativeFloats.view(b.permuted).put(0, permutedHeap);
        NativeFloats.view(bias).get(0, biasHeap);
        for (int j = 0; j < outImage; j++) {
            b.biasRow[j] = biasHeap[j % outChannels];
        }
        // Kernel rows of the first block are 5 pixels: unrolled in a cached chunk, then copied in one go; longer
        // ones are copied into the native columns one bulk copy each.
        boolean direct = kernelWidth * inChannels >= DIRECT_RUN;
        for (int g0 = 0; g0 < m; g0 += b.group) {
            int first = g0;
            int count = Math.min(b.group, m - g0);
            INDArray cols = imageRows(b.cols, first, count);
            INDArray z = imageRows(b.z, first, count);
            Slices.run(count, b.chunks.length, (slice, from, to) -> {
                Chunk chunk = b.chunks[slice];
                FloatBuffer unrolled = NativeFloats.view(b.cols);
                for (int n = first + from; n < first + to; n++) {
                    if (direct) {
                        ConvKernels.im2col(x, n * inImage, inHeight, inWidth, inChannels, kernelHeight, kernelWidth,
                                unrolled, n * colsImage);
                    } else {
                        ConvKernels.im2col(x, n * inImage, inHeight, inWidth, inChannels, kernelHeight, kernelWidth,
                                chunk.cols);
                        unrolled.put(n * colsImage, chunk.cols, 0, colsImage);
                    }
                }
            });
            Nd4j.gemm(cols, b.permuted, z, false, true, 1.0, 0.0);
            Slices.run(count, b.chunks.length, (slice, from, to) -> {
                Chunk chunk = b.chunks[slice];
                FloatBuffer output = NativeFloats.view(b.z);
                for (int n = first + from; n < first + to; n++) {
                    for (int k = 0; k < 4; k++) {
                        output.get(n * zImage + k * outImage, chunk.z[k], 0, outImage);
                    }
                    // Loops over the chunk's arrays with one plain index: the JIT does not vectorise one that reads
                    // an array at an offset.
                    ConvKernels.maxPool(chunk.z, outImage, chunk.pooled);
                    for (int j = 0; j < outImage; j++) {
                        chunk.out[j] = Math.max(0f, chunk.pooled[j] + b.biasRow[j]);
                    }
                    System.arraycopy(chunk.pooled, 0, b.pooled, n * outImage, outImage);
                    System.arraycopy(chunk.out, 0, b.out, n * outImage, outImage);
                }
            });
        }
        return b.out;
    }

    /**
     * Backprop from {@code gradient}, the gradient at the last {@link #forward} output of {@code m} rows (overwritten
     * with the gradient before the ReLU): writes the block's weight and bias gradients into the network's gradient
     * array, and returns the gradient at the block's input, or {@code null} for the first block, which needs none.
     * Group by group, as {@link #forward}.
     */
    float[] backward(float[] gradient, int m) {
        Buffers b = buffers.get(m);
        int c = outChannels;
        int zImage = convHeight * convWidth * outChannels;
        int outImage = outHeight() * outWidth() * outChannels;
        int inImage = inHeight * inWidth * inChannels;
        int colsImage = convHeight * convWidth * kernelVolume();
        for (Chunk chunk : b.chunks) {
            Arrays.fill(chunk.biasGradient, 0f);
        }
        for (int g0 = 0; g0 < m; g0 += b.group) {
            int first = g0;
            int count = Math.min(b.group, m - g0);
            INDArray cols = imageRows(b.cols, first, count);
            INDArray dz = imageRows(b.dz, first, count);
            Slices.run(count, b.chunks.length, (slice, from, to) -> {
                Chunk chunk = b.chunks[slice];
                FloatBuffer z = NativeFloats.view(b.z);
                FloatBuffer dzNative = NativeFloats.view(b.dz);
                for (int n = first + from; n < first + to; n++) {
                    int at = n * outImage;
                    System.arraycopy(gradient, at, chunk.g, 0, outImage);
                    System.arraycopy(b.out, at, chunk.out, 0, outImage);
                    System.arraycopy(b.pooled, at, chunk.pooled, 0, outImage);
                    for (int j = 0; j < outImage; j++) {
                        float g = chunk.g[j] * ConvKernels.positive(chunk.out[j]);
                        chunk.g[j] = g;
                        chunk.biasGradient[j] += g;
                    }
                    for (int k = 0; k < 4; k++) {
                        z.get(n * zImage + k * outImage, chunk.z[k], 0, outImage);
                    }
                    ConvKernels.maxPoolBackward(chunk.z, chunk.pooled, chunk.g, outImage, chunk.dz);
                    for (int k = 0; k < 4; k++) {
                        dzNative.put(n * zImage + k * outImage, chunk.dz[k], 0, outImage);
                    }
                }
            });
            Nd4j.gemm(cols, dz, b.permutedGradient, true, false, 1.0, g0 == 0 ? 0.0 : 1.0);
            if (this.first) {
                continue;
            }
            INDArray dCols = imageRows(b.groupColumns, 0, count);
            Nd4j.gemm(dz, b.permuted, dCols, false, false, 1.0, 0.0);
            Slices.run(count, b.chunks.length, (slice, from, to) -> {
                Chunk chunk = b.chunks[slice];
                FloatBuffer columns = NativeFloats.view(b.groupColumns);
                for (int n = first + from; n < first + to; n++) {
                    columns.get((n - first) * colsImage, chunk.cols, 0, colsImage);
                    ConvKernels.col2im(chunk.cols, inHeight, inWidth, inChannels, kernelHeight, kernelWidth,
                            b.inputGradient, n * inImage);
                }
            });
        }
        Arrays.fill(biasGradientHeap, 0f);
        for (Chunk chunk : b.chunks) {
            for (int j = 0; j < outImage; j++) {
                biasGradientHeap[j % c] += chunk.biasGradient[j];
            }
        }
        NativeFloats.view(biasGradient).put(0, biasGradientHeap);
        NativeFloats.view(b.permutedGradient).get(0, permutedHeap);
        unpermuteGradient();
        NativeFloats.view(weightGradient).put(0, weightsHeap);
        return this.first ? null : b.inputGradient;
    }

    /** The rows of images {@code [first, first + count)} of a matrix with one row per output position, as a view. */
    private INDArray imageRows(INDArray matrix, int first, int count) {
        int positions = convHeight * convWidth;
        return matrix.get(NDArrayIndex.interval(first * positions, (first + count) * positions), NDArrayIndex.all());
    }

    /** DL4J's {@code [out, in, kh, kw]} weights into {@link #permutedHeap} as {@code [out, kh, kw, in]}. */
    private void permuteWeights() {
        NativeFloats.view(weights).get(0, weightsHeap);
        int plane = kernelHeight * kernelWidth;
        int volume = plane * inChannels;
        for (int o = 0; o < outChannels; o++) {
            for (int i = 0; i < inChannels; i++) {
                for (int k = 0; k < plane; k++) {
                    permutedHeap[o * volume + k * inChannels + i] = weightsHeap[o * volume + i * plane + k];
                }
            }
        }
    }

    /**
     * {@link #permutedHeap}, a gradient in {@code [kh, kw, in, out]} (the columns' transpose times the output's
     * gradient: the faster product for the first block's 25-long columns), into {@link #weightsHeap} in DL4J's order.
     */
    private void unpermuteGradient() {
        int plane = kernelHeight * kernelWidth;
        int volume = plane * inChannels;
        for (int o = 0; o < outChannels; o++) {
            for (int i = 0; i < inChannels; i++) {
                for (int k = 0; k < plane; k++) {
                    weightsHeap[o * volume + i * plane + k] = permutedHeap[(k * inChannels + i) * outChannels + o];
                }
            }
        }
    }

    /** A minibatch size's arrays: native ones for the GEMMs, Java ones for everything else. */
    private final class Buffers {
        /** The unrolled input {@code [rows, kernelVolume]}; in backprop, the input gradient's columns. */
        final INDArray cols;
        final INDArray permuted;
        /** The weight gradient, {@code [kernelVolume, outChannels]}. */
        final INDArray permutedGradient;
        /** The convolution's output before bias, {@code [rows, outChannels]}, which is NHWC. */
        final INDArray z;
        final INDArray dz;
        /** The pooled maxima, before bias and ReLU. */
        final float[] pooled;
        final float[] out;
        final float[] inputGradient;
        /** The bias for each value of a pooled image. */
        final float[] biasRow = new float[outHeight() * outWidth() * outChannels];
        /** One per slice of a group that a thread works through. */
        final Chunk[] chunks;
        /** How many images a group has. */
        final int group;
        /** A group's input-gradient columns (none for the first block). */
        final INDArray groupColumns;

        Buffers(int m) {
            int rows = m * convHeight * convWidth;
            int volume = kernelVolume();
            cols = Nd4j.create(DataType.FLOAT, new long[] {rows, volume}, 'c');
            permuted = Nd4j.create(DataType.FLOAT, new long[] {outChannels, volume}, 'c');
            permutedGradient = Nd4j.create(DataType.FLOAT, new long[] {volume, outChannels}, 'c');
            z = Nd4j.create(DataType.FLOAT, new long[] {rows, outChannels}, 'c');
            dz = Nd4j.create(DataType.FLOAT, new long[] {rows, outChannels}, 'c');
            pooled = new float[m * outHeight() * outWidth() * outChannels];
            out = new float[pooled.length];
            inputGradient = first ? null : new float[m * inHeight * inWidth * inChannels];
            group = Math.max(1, Math.min(m, groupBytes / (4 * convHeight * convWidth * volume)));
            groupColumns = first ? null : Nd4j.create(DataType.FLOAT, new long[] {group * convHeight * convWidth,
                volume}, 'c');
            chunks = new Chunk[Slices.count(group)];
            for (int i = 0; i < chunks.length; i++) {
                chunks[i] = new Chunk();
            }
        }
    }

    /** One image's working arrays, small enough to stay in a core's cache between the copies and the kernels. */
    private final class Chunk {
        final float[] cols = new float[convHeight * convWidth * kernelVolume()];
        /** The convolution's output for one image as its four pooling-quadrant planes, and its gradient. */
        final float[][] z = new float[4][outHeight() * outWidth() * outChannels];
        final float[][] dz = new float[4][outHeight() * outWidth() * outChannels];
        final float[] g = new float[outHeight() * outWidth() * outChannels];
        final float[] pooled = new float[g.length];
        final float[] out = new float[g.length];
        /** The bias gradient's sums per pooled value of an image, folded into channels after the pass. */
        final float[] biasGradient = new float[outHeight() * outWidth() * outChannels];
    }
}

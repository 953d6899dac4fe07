package dev.anneal.core.net;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The memory-bound parts of a valid, stride-1 convolution followed by 2×2 max pooling, on Java arrays in NHWC order
 * ({@code [minibatch, height, width, channels]}, channels fastest), for {@link ConvPool}. In NHWC the input under a
 * kernel row is one contiguous run of {@code kernelWidth × channels} values, so {@link #im2col} and {@link #col2im}
 * move whole runs where DL4J's NCHW {@code im2col} writes a strided view element by element; the pooling loops run
 * along the channels and vectorise.
 */
final class ConvKernels {
    /**
     * 2<sup>100</sup>: a difference of two floats times this twice is 0 or at least the smallest float times
     * 2<sup>200</sup>, far past ±1, so {@code 1 + max(-1, d · BIG · BIG)} is exactly 1 where {@code d == 0} and 0
     * where {@code d < 0}, without a branch the JIT cannot vectorise.
     */
    private static final float BIG = 0x1p100f;

    private ConvKernels() {
    }

    /**
     * Unrolls one image {@code x[xAt ..]} ({@code [h, w, c]}) into {@code cols}: one row per output position of a
     * {@code kh × kw} kernel that the pooling reads ({@link #pooledSpan}), holding the input under the kernel in
     * {@code (ky, kx, channel)} order. The rows come in pooling-quadrant order ({@link #position}), so that the
     * convolution's output, one row per position, holds each 2×2 pooling window's four values in four contiguous
     * planes.
     */
    static void im2col(float[] x, int xAt, int h, int w, int c, int kh, int kw, float[] cols) {
        int oh = pooledSpan(h, kh);
        int ow = pooledSpan(w, kw);
        int run = kw * c;
        int d = 0;
        for (int row = 0; row < oh * ow; row++) {
            int position = position(row, oh, ow);
            int s = xAt + ((position / ow) * w + position % ow) * c;
            for (int ky = 0; ky < kh; ky++) {
                if (run >= 16) {
                    System.arraycopy(x, s, cols, d, run);
                } else {
                    for (int i = 0; i < run; i++) {
                        cols[d + i] = x[s + i];
                    }
                }
                d += run;
                s += w * c;
            }
        }
    }

    /**
     * {@link #im2col} straight into native memory, {@code cols} from index {@code colsAt}: one bulk copy a kernel
     * row, for runs long enough that a copy's fixed cost is small.
     */
    static void im2col(float[] x, int xAt, int h, int w, int c, int kh, int kw, FloatBuffer cols, int colsAt) {
        int oh = pooledSpan(h, kh);
        int ow = pooledSpan(w, kw);
        int run = kw * c;
        int d = colsAt;
        for (int row = 0; row < oh * ow; row++) {
            int position = position(row, oh, ow);
            int s = xAt + ((position / ow) * w + position % ow) * c;
            for (int ky = 0; ky < kh; ky++) {
                cols.put(d, x, s, run);
                d += run;
                s += w * c;
            }
        }
    }

    /**
     * How many of a valid convolution's {@code size - kernel + 1} outputs along one side a 2×2, stride-2 pooling
     * reads: all of an even count, all but the last of an odd one (DL4J's pooling drops it, so it is not computed).
     */
    static int pooledSpan(int size, int kernel) {
        return (size - kernel + 1) / 2 * 2;
    }

    /**
     * The output position {@code y · ow + x} of row {@code row} in pooling-quadrant order: rows go through the
     * quadrants {@code (y mod 2, x mod 2)} = (0,0), (0,1), (1,0), (1,1), each one the {@code oh/2 × ow/2} pooled
     * positions in row-major order.
     */
    static int position(int row, int oh, int ow) {
        int plane = (oh / 2) * (ow / 2);
        int quadrant = row / plane;
        int pooled = row % plane;
        int y = 2 * (pooled / (ow / 2)) + quadrant / 2;
        int x = 2 * (pooled % (ow / 2)) + quadrant % 2;
        return y * ow + x;
    }

    /** The reverse of {@link #im2col}: the gradient at the image {@code x[xAt ..]} from its columns', summed. */
    static void col2im(float[] cols, int h, int w, int c, int kh, int kw, float[] x, int xAt) {
        Arrays.fill(x, xAt, xAt + h * w * c, 0f);
        int oh = pooledSpan(h, kh);
        int ow = pooledSpan(w, kw);
        int run = kw * c;
        int volume = kh * run;
        for (int y = 0; y < oh; y++) {
            for (int ky = 0; ky < kh; ky++) {
                int target = xAt + (y + ky) * w * c;
                for (int xo = 0; xo < ow; xo++) {
                    int s = row(y, xo, oh, ow) * volume + ky * run;
                    int d = target + xo * c;
                    for (int i = 0; i < run; i++) {
                        x[d + i] += cols[s + i];
                    }
                }
            }
        }
    }

    /** The row of output position {@code (y, x)} in pooling-quadrant order: the inverse of {@link #position}. */
    static int row(int y, int x, int oh, int ow) {
        int quadrant = (y % 2) * 2 + x % 2;
        return quadrant * (oh / 2) * (ow / 2) + (y / 2) * (ow / 2) + x / 2;
    }

    /**
     * 2×2 max pooling with stride 2 of one image's convolution output, given as its four quadrant planes
     * {@code q[0..3]} of {@code plane} values each (see {@link #im2col}), into {@code p}, which is
     * {@code [h/2, w/2, c]}. Four separate arrays, and no offsets, because the JIT (JDK 17) vectorises a loop that
     * reads and writes every array at the loop's index, and not one that reads an array at an offset.
     */
    static void maxPool(float[][] q, int plane, float[] p) {
        float[] z0 = q[0];
        float[] z1 = q[1];
        float[] z2 = q[2];
        float[] z3 = q[3];
        for (int j = 0; j < plane; j++) {
            p[j] = Math.max(Math.max(z0[j], z1[j]), Math.max(z2[j], z3[j]));
        }
    }

    /**
     * The gradient at one image's quadrant planes {@code q} of {@link #maxPool}, into {@code dq}: each window's
     * gradient {@code g[j]} goes to the first of its four values (row by row: quadrants in order) that equals the
     * window's maximum {@code p[j]}, as DL4J's and PyTorch's pooling route it. One loop per quadrant, each handing
     * on what is left of the gradient, so that each loop vectorises.
     */
    static void maxPoolBackward(float[][] q, float[] p, float[] g, int plane, float[][] dq) {
        float[] left = dq[3];
        for (int j = 0; j < plane; j++) {
            left[j] = g[j];
        }
        for (int k = 0; k < 3; k++) {
            float[] z = q[k];
            float[] d = dq[k];
            for (int j = 0; j < plane; j++) {
                float routed = left[j] * (1 + Math.max(-1f, (z[j] - p[j]) * BIG * BIG));
                d[j] = routed;
                left[j] -= routed;
            }
        }
    }

    /** 1 where {@code a > 0}, else 0, for {@code a ≥ 0} (ReLU's output): ReLU's derivative, without a branch. */
    static float positive(float a) {
        return Math.min(1f, a * BIG * BIG);
    }

    /** One image {@code chw[at ..]} in DL4J's {@code [c, h, w]} order into {@code hwc[at ..]} as {@code [h, w, c]}. */
    static void toChannelsLast(float[] chw, int at, int c, int h, int w, float[] hwc) {
        int plane = h * w;
        for (int i = 0; i < plane; i++) {
            for (int ch = 0; ch < c; ch++) {
                hwc[at + i * c + ch] = chw[at + ch * plane + i];
            }
        }
    }

    /** One image {@code hwc[at ..]} ({@code [h, w, c]}) into {@code chw[at ..]} in DL4J's {@code [c, h, w]} order. */
    static void toChannelsFirst(float[] hwc, int at, int h, int w, int c, float[] chw) {
        int plane = h * w;
        for (int i = 0; i < plane; i++) {
            for (int ch = 0; ch < c; ch++) {
                chw[at + ch * plane + i] = hwc[at + i * c + ch];
            }
        }
    }
}

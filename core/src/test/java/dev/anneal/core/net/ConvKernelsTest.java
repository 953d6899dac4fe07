package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConvKernelsTest {

    @Test
    void quadrantOrderVisitsEveryPositionOnceAndRowInvertsIt() {
        int oh = 6;
        int ow = 4;
        Set<Integer> seen = new HashSet<>();
        for (int row = 0; row < oh * ow; row++) {
            int position = ConvKernels.position(row, oh, ow);
            seen.add(position);
            assertEquals(row, ConvKernels.row(position / ow, position % ow, oh, ow));
        }
        assertEquals(oh * ow, seen.size());
        // The first quadrant is the windows' top-left corners, row-major: (0,0), (0,2), (2,0), ...
        assertEquals(0, ConvKernels.position(0, oh, ow));
        assertEquals(2, ConvKernels.position(1, oh, ow));
        assertEquals(2 * ow, ConvKernels.position(2, oh, ow));
        // The second quadrant starts at the top-left window's top-right value.
        assertEquals(1, ConvKernels.position((oh / 2) * (ow / 2), oh, ow));
        // Of a valid 3×3 convolution's 5 outputs along a side of 7, the pooling reads 4; of 4 outputs (side 6), all.
        assertEquals(4, ConvKernels.pooledSpan(7, 3));
        assertEquals(4, ConvKernels.pooledSpan(6, 3));
    }

    @Test
    void im2colPutsTheInputUnderTheKernelInEachRowAndCol2imIsItsAdjoint() {
        int h = 6;
        int w = 4;
        int c = 3;
        int k = 3;
        int oh = h - k + 1;
        int ow = w - k + 1;
        int volume = k * k * c;
        Random random = new Random(7);
        float[] x = new float[h * w * c + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextInt(100);
        }
        float[] cols = new float[oh * ow * volume];
        ConvKernels.im2col(x, 5, h, w, c, k, k, cols);
        for (int row = 0; row < oh * ow; row++) {
            int position = ConvKernels.position(row, oh, ow);
            int y = position / ow;
            int xo = position % ow;
            for (int ky = 0; ky < k; ky++) {
                for (int kx = 0; kx < k; kx++) {
                    for (int ch = 0; ch < c; ch++) {
                        assertEquals(x[5 + ((y + ky) * w + xo + kx) * c + ch],
                                cols[row * volume + (ky * k + kx) * c + ch]);
                    }
                }
            }
        }
        // <im2col(x), g> = <x, col2im(g)> for any g: col2im is the transpose of im2col.
        float[] g = new float[cols.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = random.nextInt(10) - 5;
        }
        float[] back = new float[h * w * c + 2];
        back[0] = 99;
        ConvKernels.col2im(g, h, w, c, k, k, back, 2);
        double left = 0;
        for (int i = 0; i < cols.length; i++) {
            left += cols[i] * g[i];
        }
        double right = 0;
        for (int i = 0; i < h * w * c; i++) {
            right += x[5 + i] * back[2 + i];
        }
        assertEquals(left, right, 1e-6);
        assertEquals(99, back[0], "col2im writes only its image");
    }

    @Test
    void maxPoolingTakesEachWindowsMaximumAndRoutesItsGradientToTheFirstMaximum() {
        // One window per plane position; quadrant k holds the window's k-th value (row by row).
        float[][] q = {
            {1, 5, 2, 7},
            {3, 5, 2, 1},
            {2, 0, 9, 7},
            {0, 4, 2, 7},
        };
        float[] p = new float[4];
        ConvKernels.maxPool(q, 4, p);
        assertArrayEquals(new float[] {3, 5, 9, 7}, p);
        float[][] dq = new float[4][4];
        ConvKernels.maxPoolBackward(q, p, new float[] {10, 20, 30, 40}, 4, dq);
        // Ties (5 in quadrants 0 and 1; 7 in quadrants 0, 2 and 3) go to the first, as DL4J and PyTorch do.
        assertArrayEquals(new float[] {0, 20, 0, 40}, dq[0]);
        assertArrayEquals(new float[] {10, 0, 0, 0}, dq[1]);
        assertArrayEquals(new float[] {0, 0, 30, 0}, dq[2]);
        assertArrayEquals(new float[] {0, 0, 0, 0}, dq[3]);
    }

    @Test
    void reluDerivativeOfAnOutputIsOneExactlyWhereItIsPositive() {
        assertEquals(0f, ConvKernels.positive(0f));
        assertEquals(1f, ConvKernels.positive(Float.MIN_VALUE));
        assertEquals(1f, ConvKernels.positive(3e38f));
        assertEquals(1f, ConvKernels.positive(0.5f));
    }

    @Test
    void channelOrdersConvertBothWays() {
        float[] chw = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        float[] hwc = new float[12];
        ConvKernels.toChannelsLast(chw, 0, 3, 2, 2, hwc);
        assertArrayEquals(new float[] {1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12}, hwc);
        float[] back = new float[12];
        ConvKernels.toChannelsFirst(hwc, 0, 2, 2, 3, back);
        assertArrayEquals(chw, back);
    }
}

package dev.anneal.core.net;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Turns greyscale images (one unsigned byte a pixel, row-major, as an image dataset stores them) into the flat
 * feature rows a {@link CnnSpec} network reads: {@code [batch, height·width]}, each pixel scaled to [0, 1].
 */
public final class ImageBatches {
    private ImageBatches() {
    }

    /** Features of {@code images}, which must all hold {@code pixels} bytes. */
    public static INDArray features(byte[][] images, int pixels) {
        if (images.length == 0) {
            throw new IllegalArgumentException("need at least one image");
        }
        float[] f = new float[images.length * pixels];
        for (int b = 0; b < images.length; b++) {
            if (images[b].length != pixels) {
                throw new IllegalArgumentException("image " + b + " has " + images[b].length + " pixels, expected "
                        + pixels);
            }
            for (int i = 0; i < pixels; i++) {
                f[b * pixels + i] = (images[b][i] & 0xff) / 255f;
            }
        }
        return Nd4j.create(f, new long[] {images.length, pixels}, DataType.FLOAT);
    }

    /** A minibatch: features as {@link #features}, labels {@code [batch, targets[0].length]} (one-hot rows). */
    public static DataSet of(byte[][] images, float[][] targets, int pixels) {
        if (images.length != targets.length) {
            throw new IllegalArgumentException(images.length + " images but " + targets.length + " targets");
        }
        int width = targets[0].length;
        float[] y = new float[targets.length * width];
        for (int b = 0; b < targets.length; b++) {
            System.arraycopy(targets[b], 0, y, b * width, width);
        }
        return new DataSet(features(images, pixels), Nd4j.create(y, new long[] {targets.length, width},
                DataType.FLOAT));
    }
}

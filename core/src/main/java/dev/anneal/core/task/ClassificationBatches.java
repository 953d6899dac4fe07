package dev.anneal.core.task;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Turns token sequences with 0/1 labels into minibatches for a text classifier over a recurrent encoder. */
public final class ClassificationBatches {
    private ClassificationBatches() {
    }

    /**
     * Features {@code [batch, 1, maxLength]} (token ids, padded with 0 at the end), a feature mask
     * {@code [batch, maxLength]} that is 0 on the padding, and labels {@code [batch, 1]}; all FLOAT. Sequences longer
     * than {@code maxLength} are cut.
     */
    public static DataSet binary(int[][] tokens, int[] labels, int maxLength) {
        if (tokens.length == 0 || tokens.length != labels.length) {
            throw new IllegalArgumentException("need as many labels as sequences, at least one; got "
                    + tokens.length + " sequences and " + labels.length + " labels");
        }
        int batch = tokens.length;
        float[] features = new float[batch * maxLength];
        float[] mask = new float[batch * maxLength];
        float[] y = new float[batch];
        for (int b = 0; b < batch; b++) {
            int n = Math.min(tokens[b].length, maxLength);
            if (n == 0) {
                throw new IllegalArgumentException("sequence " + b + " is empty");
            }
            for (int t = 0; t < n; t++) {
                features[b * maxLength + t] = tokens[b][t];
                mask[b * maxLength + t] = 1f;
            }
            y[b] = labels[b];
        }
        return new DataSet(
                Nd4j.create(features, new long[] {batch, 1, maxLength}, DataType.FLOAT),
                Nd4j.create(y, new long[] {batch, 1}, DataType.FLOAT),
                Nd4j.create(mask, new long[] {batch, maxLength}, DataType.FLOAT),
                null);
    }

    /**
     * As {@link #binary}, with a label row per sequence: labels {@code [batch, targets[0].length]} (one-hot for
     * multiclass, multi-hot for multi-label, the value for regression).
     */
    public static DataSet of(int[][] tokens, float[][] targets, int maxLength) {
        int[] unused = new int[tokens.length];
        DataSet d = binary(tokens, unused.length == targets.length ? unused : new int[0], maxLength);
        int width = targets[0].length;
        float[] y = new float[targets.length * width];
        for (int b = 0; b < targets.length; b++) {
            System.arraycopy(targets[b], 0, y, b * width, width);
        }
        d.setLabels(Nd4j.create(y, new long[] {targets.length, width}, DataType.FLOAT));
        return d;
    }
}

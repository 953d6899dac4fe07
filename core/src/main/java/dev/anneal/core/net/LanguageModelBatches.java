package dev.anneal.core.net;

import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Turns token windows into next-token-prediction minibatches for {@link LstmLanguageModelSpec}. */
public final class LanguageModelBatches {

    private LanguageModelBatches() {}

    /**
     * A minibatch where each window {@code w} of length {@code n} yields inputs {@code w[0 … n-2]} and targets
     * {@code w[1 … n-1]}.
     *
     * <p>Arrays, all FLOAT, with {@code L} = longest window length − 1: features {@code [batch, 1, L]} (token ids),
     * labels {@code [batch, vocabSize, L]} (one-hot). Windows of equal length give no masks. Shorter windows are
     * padded at the end with token 0 and all-zero labels, and then the data set carries feature and label masks
     * {@code [batch, L]} that are 0 on the padding.
     *
     * @param windows token windows, each of length at least 2, token ids in {@code [0, vocabSize)}
     * @throws IllegalArgumentException if there are no windows, a window is too short, or a token is out of range
     */
    public static DataSet languageModelBatch(int[][] windows, int vocabSize) {
        Objects.requireNonNull(windows, "windows must not be null");
        if (windows.length == 0) {
            throw new IllegalArgumentException("windows must not be empty");
        }
        Checks.atLeast("vocabSize", 2, vocabSize);
        int steps = 0;
        boolean ragged = false;
        for (int b = 0; b < windows.length; b++) {
            int[] window = Objects.requireNonNull(windows[b], "windows[" + b + "] must not be null");
            if (window.length < 2) {
                throw new IllegalArgumentException("windows[" + b + "] must hold at least 2 tokens, got "
                        + window.length);
            }
            for (int t = 0; t < window.length; t++) {
                if (window[t] < 0 || window[t] >= vocabSize) {
                    throw new IllegalArgumentException("windows[" + b + "][" + t + "] must be in [0, " + vocabSize
                            + "), got " + window[t]);
                }
            }
            ragged |= b > 0 && window.length != windows[0].length;
            steps = Math.max(steps, window.length - 1);
        }

        int batch = windows.length;
        float[] features = new float[batch * steps];
        float[] labels = new float[Math.multiplyExact(Math.multiplyExact(batch, vocabSize), steps)];
        float[] mask = new float[batch * steps];
        for (int b = 0; b < batch; b++) {
            int[] window = windows[b];
            for (int t = 0; t < window.length - 1; t++) {
                features[b * steps + t] = window[t];
                labels[(b * vocabSize + window[t + 1]) * steps + t] = 1f;
                mask[b * steps + t] = 1f;
            }
        }
        INDArray featureArray = Nd4j.create(features, new long[] {batch, 1, steps}, DataType.FLOAT);
        INDArray labelArray = Nd4j.create(labels, new long[] {batch, vocabSize, steps}, DataType.FLOAT);
        if (!ragged) {
            return new DataSet(featureArray, labelArray);
        }
        INDArray maskArray = Nd4j.create(mask, new long[] {batch, steps}, DataType.FLOAT);
        return new DataSet(featureArray, labelArray, maskArray, maskArray.dup());
    }
}

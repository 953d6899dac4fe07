package dev.anneal.core.task;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Early stopping on a validation figure, decided on the driver between epochs: remembers the best epoch's value
 * and a copy of its parameters, and says to stop once {@code patience} epochs in a row have not improved on it.
 * A value that is not a number (a diverged or undefined figure) never counts as an improvement.
 */
public final class EarlyStopping {
    private final String metric;
    private final boolean higherIsBetter;
    private final int patience;
    private double best = Double.NaN;
    private int bestEpoch;
    private int sinceBest;
    private INDArray bestParams;

    public EarlyStopping(String metric, boolean higherIsBetter, int patience) {
        if (patience < 1) {
            throw new IllegalArgumentException("patience must be >= 1, got " + patience);
        }
        this.metric = metric;
        this.higherIsBetter = higherIsBetter;
        this.patience = patience;
    }

    /**
     * Records an epoch's figure; keeps a copy of {@code params} when it is the best so far.
     *
     * @return whether training should stop now
     */
    public boolean record(int epoch, double value, INDArray params) {
        boolean improved = !Double.isNaN(value)
                && (Double.isNaN(best) || (higherIsBetter ? value > best : value < best));
        if (improved) {
            best = value;
            bestEpoch = epoch;
            sinceBest = 0;
            bestParams = params.dup();
        } else {
            sinceBest++;
        }
        return sinceBest >= patience;
    }

    public String metric() {
        return metric;
    }

    /** The best value seen; NaN before any. */
    public double best() {
        return best;
    }

    /** The epoch of the best value; 0 before any. */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** A copy of the best epoch's parameters; {@code null} before any. */
    public INDArray bestParams() {
        return bestParams;
    }
}

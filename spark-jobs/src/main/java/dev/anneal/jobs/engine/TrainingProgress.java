package dev.anneal.jobs.engine;

/**
 * What the training tasks have reported so far: minibatches fitted, examples in them and the sum of their training
 * losses. Counts reach the driver when a Spark task ends (with parameter averaging, every averaging round).
 */
public record TrainingProgress(long minibatches, long examples, double lossSum) {
    public static final TrainingProgress NONE = new TrainingProgress(0, 0, 0);

    /** This and {@code other} together. */
    public TrainingProgress plus(TrainingProgress other) {
        return new TrainingProgress(minibatches + other.minibatches, examples + other.examples,
                lossSum + other.lossSum);
    }

    /** What happened between {@code earlier} and this. */
    public TrainingProgress since(TrainingProgress earlier) {
        return new TrainingProgress(minibatches - earlier.minibatches, examples - earlier.examples,
                lossSum - earlier.lossSum);
    }

    /** Mean training loss per minibatch, NaN when there was none. */
    public double meanLoss() {
        return minibatches == 0 ? Double.NaN : lossSum / minibatches;
    }
}

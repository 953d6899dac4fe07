package dev.anneal.core.task;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * A learning rate per training step: a linear warm-up from 0 to the base rate over {@code warmupSteps}, then
 * constant, cosine decay to 0 (Loshchilov and Hutter 2017, SGDR, without restarts:
 * {@code lr = base · ½(1 + cos(π p))}, {@code p} the share of the post-warm-up steps done), linear decay to 0, or
 * step decay (times {@code stepFactor} every {@code stepSteps}). DL4J's updaters read it as an {@link ISchedule}; it
 * is written into the network's JSON configuration, so Spark workers and saved models carry it.
 */
public final class WarmupSchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private double base;
    @JsonProperty
    private int warmupSteps;
    @JsonProperty
    private int totalSteps;
    @JsonProperty
    private String decay;
    @JsonProperty
    private int stepSteps;
    @JsonProperty
    private double stepFactor;

    /** For the JSON reader. */
    private WarmupSchedule() {
    }

    /**
     * @param base        the peak learning rate
     * @param warmupSteps steps of the linear rise; 0 = none
     * @param totalSteps  steps of the whole run, warm-up included
     * @param decay       constant, cosine, linear or step
     * @param stepSteps   step decay: steps between two drops
     * @param stepFactor  step decay: the factor of each drop
     */
    public WarmupSchedule(double base, int warmupSteps, int totalSteps, String decay, int stepSteps,
                          double stepFactor) {
        if (!(base >= 0) || warmupSteps < 0 || totalSteps < 1 || stepSteps < 1) {
            throw new IllegalArgumentException("base >= 0, warmupSteps >= 0, totalSteps >= 1 and stepSteps >= 1 "
                    + "needed; got " + base + ", " + warmupSteps + ", " + totalSteps + ", " + stepSteps);
        }
        if (!java.util.List.of("constant", "cosine", "linear", "step").contains(decay)) {
            throw new IllegalArgumentException("decay must be constant, cosine, linear or step, got " + decay);
        }
        this.base = base;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
        this.decay = decay;
        this.stepSteps = stepSteps;
        this.stepFactor = stepFactor;
    }

    /** The same schedule with another peak rate (per-layer-group factors). */
    public WarmupSchedule scaled(double factor) {
        return new WarmupSchedule(base * factor, warmupSteps, totalSteps, decay, stepSteps, stepFactor);
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        if (iteration < warmupSteps) {
            return base * (iteration + 1) / warmupSteps;
        }
        int after = iteration - warmupSteps;
        double p = Math.min(1.0, (double) after / Math.max(1, totalSteps - warmupSteps));
        return switch (decay) {
            case "cosine" -> base * 0.5 * (1 + Math.cos(Math.PI * p));
            case "linear" -> base * (1 - p);
            case "step" -> base * Math.pow(stepFactor, after / stepSteps);
            default -> base;
        };
    }

    public double base() {
        return base;
    }

    @Override
    public ISchedule clone() {
        return new WarmupSchedule(base, warmupSteps, totalSteps, decay, stepSteps, stepFactor);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WarmupSchedule s && s.base == base && s.warmupSteps == warmupSteps
                && s.totalSteps == totalSteps && s.decay.equals(decay) && s.stepSteps == stepSteps
                && s.stepFactor == stepFactor;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(base, warmupSteps, totalSteps, decay, stepSteps, stepFactor);
    }

    @Override
    public String toString() {
        return "WarmupSchedule(base=" + base + ", warmup=" + warmupSteps + ", total=" + totalSteps + ", " + decay
                + ")";
    }
}

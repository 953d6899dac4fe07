package dev.anneal.core.task;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.HashMap;
import java.util.Map;

/**
 * Gradient accumulation as a DL4J updater: the gradients of {@code steps} consecutive minibatches are summed in the
 * updater's state, and only every {@code steps}-th minibatch does the wrapped updater (Adam, say) take one step, on
 * their mean; the other minibatches change nothing. Since DL4J's gradient is a per-example mean, {@code steps}
 * minibatches of {@code B} make the same update as one minibatch of {@code steps·B} — an effective batch larger than
 * what fits in memory. Which minibatch closes a group follows the network's step count, so all workers of a pass
 * agree; the wrapped updater (and its learning-rate schedule) counts updates, {@code iteration / steps}.
 *
 * <p>Being an updater, it lives in the network's configuration and state: DL4J's Spark workers accumulate per worker
 * and parameter averaging averages the partial sums with the rest of the updater state.
 */
public final class AccumulatingUpdater implements IUpdater {
    private static final long serialVersionUID = 1L;

    @JsonProperty
    private IUpdater inner;
    @JsonProperty
    private int steps;

    /** For the JSON reader. */
    private AccumulatingUpdater() {
    }

    public AccumulatingUpdater(IUpdater inner, int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        this.inner = inner;
        this.steps = steps;
    }

    public IUpdater inner() {
        return inner;
    }

    public int steps() {
        return steps;
    }

    /** Whether the minibatch at {@code iteration} (0-based) closes a group and updates. */
    boolean updates(int iteration) {
        return (iteration + 1) % steps == 0;
    }

    @Override
    public long stateSize(long numParams) {
        return inner.stateSize(numParams) + numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        INDArray flat = viewArray.reshape(viewArray.length());
        // The state is the wrapped updater's, then the running sum of the gradients (one value per parameter).
        long innerState = inner.stateSize(paramsFor(flat.length()));
        INDArray innerView = innerState == 0 ? null
                : flat.get(NDArrayIndex.interval(0, innerState)).reshape(1, innerState);
        INDArray sum = flat.get(NDArrayIndex.interval(innerState, flat.length()));
        if (initializeViewArray) {
            sum.assign(0);
        }
        return new Accumulator(this, inner.instantiate(innerView, initializeViewArray), sum);
    }

    /** The parameter count whose state is {@code stateLength} long (DL4J's updaters' state sizes are affine). */
    private long paramsFor(long stateLength) {
        long perParam = inner.stateSize(1) - inner.stateSize(0) + 1;
        return (stateLength - inner.stateSize(0)) / perParam;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> state, boolean initializeStateArrays) {
        throw new UnsupportedOperationException("gradient accumulation runs inside a DL4J network's updater");
    }

    @Override
    public IUpdater clone() {
        return new AccumulatingUpdater(inner.clone(), steps);
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        // Weight decay scales with this rate; between updates nothing may change.
        return updates(iteration) ? inner.getLearningRate(iteration / steps, epoch) : 0.0;
    }

    @Override
    public boolean hasLearningRate() {
        return inner.hasLearningRate();
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        inner.setLrAndSchedule(lr, lrSchedule);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AccumulatingUpdater a && a.steps == steps && a.inner.equals(inner);
    }

    @Override
    public int hashCode() {
        return inner.hashCode() * 31 + steps;
    }

    @Override
    public String toString() {
        return "AccumulatingUpdater(" + inner + ", steps=" + steps + ")";
    }

    private static final class Accumulator implements GradientUpdater<AccumulatingUpdater> {
        private final AccumulatingUpdater config;
        private final GradientUpdater<?> inner;
        private INDArray sum;

        Accumulator(AccumulatingUpdater config, GradientUpdater<?> inner, INDArray sum) {
            this.config = config;
            this.inner = inner;
            this.sum = sum;
        }

        @Override
        public AccumulatingUpdater getConfig() {
            return config;
        }

        @Override
        public void setState(Map<String, INDArray> state, boolean initialize) {
            throw new UnsupportedOperationException("gradient accumulation runs inside a DL4J network's updater");
        }

        @Override
        public Map<String, INDArray> getState() {
            Map<String, INDArray> state = new HashMap<>(inner.getState());
            state.put("accumulated", sum);
            return state;
        }

        @Override
        public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder,
                                      boolean initialize) {
            throw new UnsupportedOperationException("state is given at instantiation");
        }

        @Override
        public void applyUpdater(INDArray gradient, int iteration, int epoch) {
            INDArray g = gradient.reshape(gradient.length());
            sum.addi(g);
            if (!config.updates(iteration)) {
                gradient.assign(0);
                return;
            }
            gradient.assign(sum.div(config.steps).reshape(gradient.shape()));
            sum.assign(0);
            inner.applyUpdater(gradient, iteration / config.steps, epoch);
        }
    }
}

package dev.anneal.core.net;

import java.util.List;
import java.util.Objects;

/** Argument checks shared by the spec records, so their messages name the offending field the same way. */
final class Checks {

    private Checks() {}

    static int positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be > 0, got " + value);
        }
        return value;
    }

    static int atLeast(String field, int min, int value) {
        if (value < min) {
            throw new IllegalArgumentException(field + " must be >= " + min + ", got " + value);
        }
        return value;
    }

    /** An immutable copy whose elements are all positive. */
    static List<Integer> positiveSizes(String field, List<Integer> values) {
        Objects.requireNonNull(values, field + " must not be null");
        for (int i = 0; i < values.size(); i++) {
            Integer v = values.get(i);
            if (v == null) {
                throw new IllegalArgumentException(field + "[" + i + "] must not be null");
            }
            positive(field + "[" + i + "]", v);
        }
        return List.copyOf(values);
    }

    static Loss loss(Loss loss, int nOut) {
        Objects.requireNonNull(loss, "loss must not be null");
        // A softmax over a single unit is constantly 1, so the network could never learn anything.
        if (loss == Loss.SOFTMAX_CROSS_ENTROPY && nOut < 2) {
            throw new IllegalArgumentException("nOut must be >= 2 with loss " + loss.configName() + ", got " + nOut);
        }
        return loss;
    }
}

package dev.anneal.core.task;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mergeable reliability bins of a classifier's decisions: each decision's confidence (the probability it gave the
 * class it chose) falls in one of {@code bins} equal-width bins of [0, 1], which count the decisions, sum their
 * confidence and count the right ones. The expected calibration error is
 * {@code ECE = sum_b (n_b / N) * |accuracy_b - confidence_b|} (Guo et al., "On Calibration of Modern Neural
 * Networks", ICML 2017, eq. 3).
 */
public final class Calibration implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long[] count;
    private final long[] correct;
    private final double[] confidence;

    public Calibration(int bins) {
        this.count = new long[bins];
        this.correct = new long[bins];
        this.confidence = new double[bins];
    }

    /** The bin of a confidence: {@code floor(c * bins)}, with 1.0 in the last bin. */
    public int bin(double c) {
        return Math.min(count.length - 1, Math.max(0, (int) Math.floor(c * count.length)));
    }

    public Calibration add(double c, boolean right) {
        int b = bin(c);
        count[b]++;
        correct[b] += right ? 1 : 0;
        confidence[b] += c;
        return this;
    }

    public Calibration merge(Calibration o) {
        for (int b = 0; b < count.length; b++) {
            count[b] += o.count[b];
            correct[b] += o.correct[b];
            confidence[b] += o.confidence[b];
        }
        return this;
    }

    public long count() {
        long n = 0;
        for (long c : count) {
            n += c;
        }
        return n;
    }

    /** The expected calibration error; NaN when nothing was counted. */
    public double ece() {
        long n = count();
        if (n == 0) {
            return Double.NaN;
        }
        double e = 0;
        for (int b = 0; b < count.length; b++) {
            if (count[b] > 0) {
                e += Math.abs((double) correct[b] / count[b] - confidence[b] / count[b]) * count[b] / n;
            }
        }
        return e;
    }

    /** The non-empty bins, for a reliability diagram: range, count, mean confidence, accuracy. */
    public List<Map<String, Object>> bins() {
        List<Map<String, Object>> l = new ArrayList<>();
        for (int b = 0; b < count.length; b++) {
            if (count[b] > 0) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("from", (double) b / count.length);
                m.put("to", (double) (b + 1) / count.length);
                m.put("count", count[b]);
                m.put("confidence", confidence[b] / count[b]);
                m.put("accuracy", (double) correct[b] / count[b]);
                l.add(m);
            }
        }
        return l;
    }
}

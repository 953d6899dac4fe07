package dev.anneal.core.task;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Confusion counts of a binary classifier at one threshold, and the figures derived from them. Counts merge, so
 * executors can each count their partition.
 */
public record BinaryMetrics(long truePositives, long falsePositives, long trueNegatives, long falseNegatives)
        implements Serializable {

    public static final BinaryMetrics EMPTY = new BinaryMetrics(0, 0, 0, 0);

    public BinaryMetrics add(boolean predictedPositive, boolean actualPositive) {
        return new BinaryMetrics(
                truePositives + (predictedPositive && actualPositive ? 1 : 0),
                falsePositives + (predictedPositive && !actualPositive ? 1 : 0),
                trueNegatives + (!predictedPositive && !actualPositive ? 1 : 0),
                falseNegatives + (!predictedPositive && actualPositive ? 1 : 0));
    }

    public BinaryMetrics merge(BinaryMetrics o) {
        return new BinaryMetrics(truePositives + o.truePositives, falsePositives + o.falsePositives,
                trueNegatives + o.trueNegatives, falseNegatives + o.falseNegatives);
    }

    public long count() {
        return truePositives + falsePositives + trueNegatives + falseNegatives;
    }

    public long positives() {
        return truePositives + falseNegatives;
    }

    public double accuracy() {
        return ratio(truePositives + trueNegatives, count());
    }

    /** Of the records called positive, the share that are; 0 when none is called positive. */
    public double precision() {
        return ratio(truePositives, truePositives + falsePositives);
    }

    /** Of the positive records, the share called positive; 0 when there are none. */
    public double recall() {
        return ratio(truePositives, positives());
    }

    /** Harmonic mean of precision and recall: 2TP / (2TP + FP + FN); 0 when TP is 0. */
    public double f1() {
        return ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives);
    }

    /** The share of the majority class: the accuracy of always predicting it. */
    public double majorityAccuracy() {
        return ratio(Math.max(positives(), count() - positives()), count());
    }

    private static double ratio(long num, long den) {
        return den == 0 ? 0.0 : (double) num / den;
    }

    /** The figures as metrics.json writes them; {@code auc} is added by whoever ranked the scores. */
    public Map<String, Object> toMap(double auc) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count());
        m.put("positives", positives());
        m.put("accuracy", accuracy());
        m.put("precision", precision());
        m.put("recall", recall());
        m.put("f1", f1());
        m.put("auc", auc);
        m.put("confusion", Map.of("tp", truePositives, "fp", falsePositives, "tn", trueNegatives,
                "fn", falseNegatives));
        return m;
    }
}

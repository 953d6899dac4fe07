package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class BinaryMetricsTest {
    private static final double EPS = 1e-12;

    /** Adds {@code n} records with the given prediction and truth. */
    private static BinaryMetrics add(BinaryMetrics m, int n, boolean predicted, boolean actual) {
        for (int i = 0; i < n; i++) {
            m = m.add(predicted, actual);
        }
        return m;
    }

    /** 3 TP, 1 FP, 4 TN, 2 FN. */
    private static BinaryMetrics example() {
        BinaryMetrics m = BinaryMetrics.EMPTY;
        m = add(m, 3, true, true);
        m = add(m, 1, true, false);
        m = add(m, 4, false, false);
        m = add(m, 2, false, true);
        return m;
    }

    @Test
    void countsLandInTheRightCells() {
        assertEquals(new BinaryMetrics(3, 1, 4, 2), example());
    }

    @Test
    void figuresMatchAHandComputedConfusionMatrix() {
        BinaryMetrics m = example();

        assertEquals(10, m.count());
        assertEquals(5, m.positives());
        assertEquals(0.7, m.accuracy(), EPS);          // (3 + 4) / 10
        assertEquals(0.75, m.precision(), EPS);        // 3 / (3 + 1)
        assertEquals(0.6, m.recall(), EPS);            // 3 / (3 + 2)
        assertEquals(2.0 / 3.0, m.f1(), EPS);          // 2*3 / (2*3 + 1 + 2) = 2 * 0.75 * 0.6 / 1.35
        assertEquals(0.5, m.majorityAccuracy(), EPS);  // 5 of 10 either way
    }

    @Test
    void f1IsTheHarmonicMeanOfPrecisionAndRecall() {
        BinaryMetrics m = new BinaryMetrics(7, 5, 11, 2);
        double p = m.precision();
        double r = m.recall();

        assertEquals(2 * p * r / (p + r), m.f1(), EPS);
        assertEquals(18.0 / 25.0, m.accuracy(), EPS);
        assertEquals(16.0 / 25.0, m.majorityAccuracy(), EPS, "16 negatives of 25");
    }

    @Test
    void emptyCountsGiveZerosInsteadOfNaN() {
        BinaryMetrics m = BinaryMetrics.EMPTY;

        assertEquals(0, m.count());
        assertEquals(0.0, m.accuracy());
        assertEquals(0.0, m.precision());
        assertEquals(0.0, m.recall());
        assertEquals(0.0, m.f1());
        assertEquals(0.0, m.majorityAccuracy());
    }

    @Test
    void nothingCalledPositiveGivesZeroPrecisionAndF1() {
        BinaryMetrics m = new BinaryMetrics(0, 0, 6, 4);

        assertEquals(0.0, m.precision());
        assertEquals(0.0, m.recall());
        assertEquals(0.0, m.f1());
        assertEquals(0.6, m.accuracy(), EPS);
        assertEquals(0.6, m.majorityAccuracy(), EPS);
    }

    @Test
    void noPositiveRecordsGiveZeroRecall() {
        BinaryMetrics m = new BinaryMetrics(0, 3, 7, 0);

        assertEquals(0.0, m.recall());
        assertEquals(0.0, m.precision());
        assertEquals(0.0, m.f1());
        assertEquals(0.7, m.accuracy(), EPS);
        assertEquals(1.0, m.majorityAccuracy(), EPS);
    }

    @Test
    void perfectClassifierScoresOne() {
        BinaryMetrics m = new BinaryMetrics(4, 0, 6, 0);

        assertEquals(1.0, m.accuracy());
        assertEquals(1.0, m.precision());
        assertEquals(1.0, m.recall());
        assertEquals(1.0, m.f1());
    }

    @Test
    void mergeAddsCountsAndEqualsCountingEverythingInOnePlace() {
        BinaryMetrics a = BinaryMetrics.EMPTY.add(true, true).add(false, true).add(true, false);
        BinaryMetrics b = BinaryMetrics.EMPTY.add(true, true).add(true, true).add(false, false)
                .add(false, false).add(false, false).add(false, false).add(false, true).add(true, true);

        BinaryMetrics merged = a.merge(b);

        assertEquals(new BinaryMetrics(4, 1, 4, 2), merged);
        assertEquals(merged, b.merge(a), "merge order does not matter");
        assertEquals(a, a.merge(BinaryMetrics.EMPTY));
        assertEquals(a, BinaryMetrics.EMPTY.merge(a));
        assertEquals(a.merge(b).merge(example()), a.merge(b.merge(example())));
    }

    @Test
    void toMapHoldsTheFiguresAndTheConfusionCounts() {
        Map<String, Object> m = example().toMap(0.81);

        assertEquals(10L, m.get("count"));
        assertEquals(5L, m.get("positives"));
        assertEquals(0.7, (Double) m.get("accuracy"), EPS);
        assertEquals(0.75, (Double) m.get("precision"), EPS);
        assertEquals(0.6, (Double) m.get("recall"), EPS);
        assertEquals(2.0 / 3.0, (Double) m.get("f1"), EPS);
        assertEquals(0.81, m.get("auc"));
        assertEquals(Map.of("tp", 3L, "fp", 1L, "tn", 4L, "fn", 2L), m.get("confusion"));
    }
}

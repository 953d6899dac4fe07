package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The figures of an evaluation on sets small enough to work out by hand (the arithmetic is in each comment). */
@SuppressWarnings("unchecked")
class TaskMetricsReportTest {

    private static double num(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    @Test
    void expectedCalibrationErrorByHand() {
        // 15 bins: 0.95 -> bin 14 (one right, one wrong), 0.55 -> bin 8, 0.65 -> bin 9 (right).
        // ECE = 2/4 |0.5 - 0.95| + 1/4 |1 - 0.55| + 1/4 |1 - 0.65| = 0.225 + 0.1125 + 0.0875 = 0.425
        Calibration c = new Calibration(15).add(0.95, true).add(0.95, false).add(0.55, true);
        Calibration other = new Calibration(15).add(0.65, true);
        assertEquals(0.425, c.merge(other).ece(), 1e-12);
        assertEquals(3, c.bins().size());
        assertEquals(14, c.bin(1.0), "1.0 falls in the last bin");
        assertEquals(Double.NaN, new Calibration(15).ece());
    }

    @Test
    void binaryAtAThresholdListsBothClasses() {
        // Threshold 0.3: calls 1, 0, 1, 0 on labels 0, 1, 1, 0 -> tp 1 (0.9), fp 1 (0.4), fn 1 (0.2), tn 1 (0.1).
        TaskMetrics m = new TaskMetrics("binary", 1, 0.3, 15);
        m.add(new float[] {0.4f}, new float[] {0}).add(new float[] {0.2f}, new float[] {1})
                .add(new float[] {0.9f}, new float[] {1}).add(new float[] {0.1f}, new float[] {0});
        Map<String, Object> r = m.report(List.of("ham", "spam"));
        assertEquals(0.5, num(r, "accuracy"), 1e-12);
        assertEquals(0.5, num(r, "precision"), 1e-12);
        assertEquals(0.5, num(r, "f1"), 1e-12);
        assertEquals(0.5, num(r, "macro_f1"), 1e-12);
        assertEquals(0.5, num(r, "micro_f1"), 1e-12, "one decision per record: micro = accuracy");
        Map<String, Object> confusion = (Map<String, Object>) r.get("confusion");
        assertEquals(List.of(List.of(1L, 1L), List.of(1L, 1L)), confusion.get("counts"));
        assertEquals(List.of("ham", "spam"), confusion.get("labels"));
        // The confidence of a decision is the probability of the class called: 0.4 (called 1, wrong), 0.8 (called
        // 0, wrong), 0.9 (right), 0.9 (right): bins 6, 12, 13, 13.
        // ECE = 1/4 * 0.4 + 1/4 * 0.8 + 2/4 * |1 - 0.9| = 0.35
        assertEquals(0.35, num(r, "ece"), 1e-6);
    }

    @Test
    void multiLabelPerLabelMacroAndMicro() {
        // Label a: tp (0.9), fp (0.6), fn (0.1) -> P = R = F1 = 1/2. Label b: tn (0.2), tp (0.7), tp (0.8) -> 1.
        TaskMetrics m = new TaskMetrics("multilabel", 2, 0.5, 15);
        m.add(new float[] {0.9f, 0.2f}, new float[] {1, 0}).add(new float[] {0.6f, 0.7f}, new float[] {0, 1})
                .add(new float[] {0.1f, 0.8f}, new float[] {1, 1});
        Map<String, Object> r = m.report(List.of("a", "b"));
        List<Map<String, Object>> per = (List<Map<String, Object>>) r.get("per_class");
        assertEquals(0.5, num(per.get(0), "f1"), 1e-12);
        assertEquals(1.0, num(per.get(1), "f1"), 1e-12);
        assertEquals(0.75, num(r, "macro_f1"), 1e-12);
        assertEquals(0.75, num(r, "micro_f1"), 1e-12, "tp 3, fp 1, fn 1: 6 / 8");
        assertEquals(4.0 / 6, num(r, "accuracy"), 1e-12, "Hamming: 4 of 6 decisions right");
        // Confidences 0.9 r, 0.6 w, 0.9 w, 0.8 r, 0.7 r, 0.8 r -> (0.8 + 0.6 + 0.4 + 0.3) / 6
        assertEquals(2.1 / 6, num(r, "ece"), 1e-6);
    }

    @Test
    void regressionRSquared() {
        // Errors 0.5, 0, -1: MAE 0.5, RMSE sqrt(1.25 / 3); SS_tot of 1, 2, 3 is 2 -> R² = 1 - 1.25 / 2.
        TaskMetrics m = new TaskMetrics("regression", 1, 0.5, 15);
        m.add(new float[] {1.5f}, new float[] {1}).add(new float[] {2f}, new float[] {2})
                .add(new float[] {2f}, new float[] {3});
        Map<String, Object> r = m.report(List.of("value"));
        assertEquals(0.5, num(r, "mae"), 1e-12);
        assertEquals(Math.sqrt(1.25 / 3), num(r, "rmse"), 1e-12);
        assertEquals(0.375, num(r, "r2"), 1e-12);
    }
}

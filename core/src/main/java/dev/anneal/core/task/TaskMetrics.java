package dev.anneal.core.task;

import dev.anneal.core.config.FinetuneSettings;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mergeable counts of a multiclass, multi-label or regression model's predictions against the targets, so that
 * executors count their partitions and the driver adds them up: a confusion matrix (multiclass), per-label
 * confusion counts at the threshold (binary and multi-label; binary is one label), absolute and squared errors and
 * the sums of the targets (regression), the summed loss, and the calibration bins of every decision.
 */
public final class TaskMetrics implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final double EPS = 1e-7;

    private final String task;
    private final int outputs;
    private final long[] confusion;
    private final long[][] perLabel;
    private final double threshold;
    private final Calibration calibration;
    private long count;
    private double lossSum;
    private double absSum;
    private double sqSum;
    private double targetSum;
    private double targetSqSum;

    public TaskMetrics(String task, int outputs) {
        this(task, outputs, 0.5, 15);
    }

    /**
     * @param threshold probability at or above which a binary or multi-label output is called positive
     * @param bins      equal-width confidence bins of the calibration error
     */
    public TaskMetrics(String task, int outputs, double threshold, int bins) {
        this.task = task;
        this.outputs = outputs;
        this.confusion = new long[outputs * outputs];
        this.perLabel = new long[outputs][4];
        this.threshold = threshold;
        this.calibration = new Calibration(bins);
    }

    /** Counts one record: {@code predicted} is the head's output, {@code target} the label row. */
    public TaskMetrics add(float[] predicted, float[] target) {
        count++;
        switch (task) {
            case FinetuneSettings.MULTICLASS -> {
                int p = argmax(predicted);
                int t = argmax(target);
                confusion[t * outputs + p]++;
                lossSum -= Math.log(Math.max(predicted[t], EPS));
                calibration.add(predicted[p], p == t);
            }
            case FinetuneSettings.REGRESSION -> {
                double e = predicted[0] - target[0];
                absSum += Math.abs(e);
                sqSum += e * e;
                lossSum += e * e;
                targetSum += target[0];
                targetSqSum += (double) target[0] * target[0];
            }
            default -> {
                for (int j = 0; j < outputs; j++) {
                    boolean p = predicted[j] >= threshold;
                    boolean t = target[j] >= 0.5;
                    perLabel[j][p ? (t ? 0 : 1) : (t ? 3 : 2)]++;
                    calibration.add(p ? predicted[j] : 1 - predicted[j], p == t);
                    double q = Math.min(Math.max(predicted[j], EPS), 1 - EPS);
                    lossSum -= t ? Math.log(q) : Math.log(1 - q);
                }
            }
        }
        return this;
    }

    public TaskMetrics merge(TaskMetrics o) {
        for (int i = 0; i < confusion.length; i++) {
            confusion[i] += o.confusion[i];
        }
        for (int j = 0; j < outputs; j++) {
            for (int k = 0; k < 4; k++) {
                perLabel[j][k] += o.perLabel[j][k];
            }
        }
        count += o.count;
        lossSum += o.lossSum;
        absSum += o.absSum;
        sqSum += o.sqSum;
        targetSum += o.targetSum;
        targetSqSum += o.targetSqSum;
        calibration.merge(o.calibration);
        return this;
    }

    public long count() {
        return count;
    }

    /** The figures as metrics.json writes them, and as early stopping reads them. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count);
        m.put("loss", count == 0 ? Double.NaN : lossSum / count);
        if (task.equals(FinetuneSettings.REGRESSION)) {
            m.put("mae", count == 0 ? Double.NaN : absSum / count);
            m.put("rmse", count == 0 ? Double.NaN : Math.sqrt(sqSum / count));
            return m;
        }
        long[][] labels = task.equals(FinetuneSettings.MULTICLASS) ? oneVsRest() : perLabel;
        long tp = 0;
        long fp = 0;
        long fn = 0;
        double macro = 0;
        for (long[] c : labels) {
            tp += c[0];
            fp += c[1];
            fn += c[3];
            macro += f1(c[0], c[1], c[3]);
        }
        if (task.equals(FinetuneSettings.MULTICLASS)) {
            long correct = 0;
            for (int i = 0; i < outputs; i++) {
                correct += confusion[i * outputs + i];
            }
            m.put("accuracy", ratio(correct, count));
            m.put("confusion", confusionRows());
        } else {
            long right = 0;
            for (long[] c : perLabel) {
                right += c[0] + c[2];
            }
            // Hamming accuracy: the share of (record, label) decisions that are right.
            m.put("accuracy", ratio(right, count * outputs));
        }
        m.put("macro_f1", macro / outputs);
        m.put("micro_f1", f1(tp, fp, fn));
        return m;
    }

    /**
     * The full figures of an evaluation: accuracy, per-class and macro / micro precision, recall and F1, the
     * confusion matrix with label names and the expected calibration error with its bins (classifiers); MAE, RMSE
     * and R² (regression). {@code labels} names the outputs: the classes of a multiclass head, the labels of a
     * multi-label head, the negative and the positive class of a binary one.
     */
    public Map<String, Object> report(List<String> labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count);
        m.put("loss", count == 0 ? Double.NaN : lossSum / count);
        if (task.equals(FinetuneSettings.REGRESSION)) {
            m.put("mae", count == 0 ? Double.NaN : absSum / count);
            m.put("rmse", count == 0 ? Double.NaN : Math.sqrt(sqSum / count));
            // R² = 1 - SS_res / SS_tot, SS_tot = sum y² - (sum y)² / n; undefined when every target is the same.
            double total = count == 0 ? 0 : targetSqSum - targetSum * targetSum / count;
            m.put("r2", total > 0 ? 1 - sqSum / total : Double.NaN);
            return m;
        }
        boolean binary = task.equals(FinetuneSettings.BINARY);
        boolean multiclass = task.equals(FinetuneSettings.MULTICLASS);
        long[][] classes;
        Object matrix;
        if (binary) {
            long[] pos = perLabel[0];
            classes = new long[][] {{pos[2], pos[3], pos[0], pos[1]}, pos};
            matrix = Map.of("labels", labels, "rows", "actual", "columns", "predicted",
                    "counts", List.of(List.of(pos[2], pos[1]), List.of(pos[3], pos[0])));
        } else if (multiclass) {
            classes = oneVsRest();
            List<List<Long>> rows = new ArrayList<>();
            for (long[] r : confusionRows()) {
                rows.add(java.util.Arrays.stream(r).boxed().toList());
            }
            matrix = Map.of("labels", labels, "rows", "actual", "columns", "predicted", "counts", rows);
        } else {
            classes = perLabel;
            Map<String, Object> perLabelMatrix = new LinkedHashMap<>();
            for (int j = 0; j < outputs; j++) {
                long[] c = perLabel[j];
                perLabelMatrix.put(labels.get(j), Map.of("tp", c[0], "fp", c[1], "tn", c[2], "fn", c[3]));
            }
            matrix = perLabelMatrix;
        }
        long right = 0;
        long tp = 0;
        long fp = 0;
        long fn = 0;
        double macroP = 0;
        double macroR = 0;
        double macroF = 0;
        List<Map<String, Object>> perClass = new ArrayList<>();
        for (int k = 0; k < classes.length; k++) {
            long[] c = classes[k];
            tp += c[0];
            fp += c[1];
            fn += c[3];
            right += multiclass ? c[0] : c[0] + c[2];
            double precision = ratio(c[0], c[0] + c[1]);
            double recall = ratio(c[0], c[0] + c[3]);
            double f1 = f1(c[0], c[1], c[3]);
            macroP += precision;
            macroR += recall;
            macroF += f1;
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("label", labels.get(k));
            one.put("precision", precision);
            one.put("recall", recall);
            one.put("f1", f1);
            one.put("support", c[0] + c[3]);
            perClass.add(one);
        }
        // Binary: one decision per record, counted once (by the positive class) although two classes are listed.
        m.put("accuracy", binary ? ratio(classes[1][0] + classes[1][2], count)
                : multiclass ? ratio(right, count) : ratio(right, count * outputs));
        if (binary) {
            m.put("precision", ratio(classes[1][0], classes[1][0] + classes[1][1]));
            m.put("recall", ratio(classes[1][0], classes[1][0] + classes[1][3]));
            m.put("f1", f1(classes[1][0], classes[1][1], classes[1][3]));
        }
        m.put("macro_precision", macroP / classes.length);
        m.put("macro_recall", macroR / classes.length);
        m.put("macro_f1", macroF / classes.length);
        m.put("micro_precision", ratio(tp, tp + fp));
        m.put("micro_recall", ratio(tp, tp + fn));
        m.put("micro_f1", f1(tp, fp, fn));
        m.put("per_class", perClass);
        m.put("confusion", matrix);
        m.put("ece", calibration.ece());
        m.put("calibration", calibration.bins());
        return m;
    }

    private long[][] oneVsRest() {
        long[][] c = new long[outputs][4];
        for (int t = 0; t < outputs; t++) {
            for (int p = 0; p < outputs; p++) {
                long n = confusion[t * outputs + p];
                if (t == p) {
                    c[t][0] += n;
                } else {
                    c[p][1] += n;
                    c[t][3] += n;
                }
            }
        }
        return c;
    }

    private long[][] confusionRows() {
        long[][] rows = new long[outputs][outputs];
        for (int t = 0; t < outputs; t++) {
            System.arraycopy(confusion, t * outputs, rows[t], 0, outputs);
        }
        return rows;
    }

    private static double f1(long tp, long fp, long fn) {
        return ratio(2 * tp, 2 * tp + fp + fn);
    }

    private static double ratio(long num, long den) {
        return den == 0 ? 0.0 : (double) num / den;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}

package dev.anneal.core.task;

import dev.anneal.core.config.FinetuneSettings;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Mergeable counts of a multiclass, multi-label or regression model's predictions against the targets, so that
 * executors count their partitions and the driver adds them up: a confusion matrix (multiclass), per-label
 * confusion counts at 0.5 (multi-label), absolute and squared errors (regression), and the summed loss.
 */
public final class TaskMetrics implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final double EPS = 1e-7;

    private final String task;
    private final int outputs;
    private final long[] confusion;
    private final long[][] perLabel;
    private long count;
    private double lossSum;
    private double absSum;
    private double sqSum;

    public TaskMetrics(String task, int outputs) {
        this.task = task;
        this.outputs = outputs;
        this.confusion = new long[outputs * outputs];
        this.perLabel = new long[outputs][4];
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
            }
            case FinetuneSettings.REGRESSION -> {
                double e = predicted[0] - target[0];
                absSum += Math.abs(e);
                sqSum += e * e;
                lossSum += e * e;
            }
            default -> {
                for (int j = 0; j < outputs; j++) {
                    boolean p = predicted[j] >= 0.5;
                    boolean t = target[j] >= 0.5;
                    perLabel[j][p ? (t ? 0 : 1) : (t ? 3 : 2)]++;
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

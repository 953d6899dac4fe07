package dev.anneal.jobs.eval;

import dev.anneal.core.config.FinetuneSettings;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ROC AUC of a classifier's outputs against its targets, exact: each curve is one distributed sort of the scores
 * ({@link BinaryEvaluation#areaUnderRoc}), not a histogram, so the figure does not depend on a bin count and agrees
 * with the pairwise definition; a test set is small next to a corpus, and a sort per class is cheap. Binary: one
 * curve. Multiclass: one-vs-rest per class and their macro mean. Multi-label: per label, their macro mean, and the
 * micro curve over every (record, label) pair. A class without both positives and negatives has no curve (NaN) and
 * is left out of the mean.
 */
public final class RocAuc {
    private RocAuc() {
    }

    /** @param scored (head output, target row) pairs; persisted by the caller, as it is read once per curve */
    public static Map<String, Object> of(JavaRDD<Tuple2<float[], float[]>> scored, String task, List<String> labels) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (task.equals(FinetuneSettings.BINARY)) {
            m.put("auc", curve(scored.map(s -> new Tuple2<>((double) s._1()[0], (double) s._2()[0]))));
            return m;
        }
        Map<String, Object> per = new LinkedHashMap<>();
        List<Double> defined = new ArrayList<>();
        for (int k = 0; k < labels.size(); k++) {
            int j = k;
            double auc = curve(scored.map(s -> new Tuple2<>((double) s._1()[j], (double) s._2()[j])));
            per.put(labels.get(k), auc);
            if (!Double.isNaN(auc)) {
                defined.add(auc);
            }
        }
        double macro = defined.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        if (task.equals(FinetuneSettings.MULTILABEL)) {
            double micro = curve(scored.flatMap(s -> {
                List<Tuple2<Double, Double>> pairs = new ArrayList<>();
                for (int j = 0; j < s._1().length; j++) {
                    pairs.add(new Tuple2<>((double) s._1()[j], (double) s._2()[j]));
                }
                return pairs.iterator();
            }));
            m.put("auc", micro);
            m.put("auc_micro", micro);
        } else {
            m.put("auc", macro);
        }
        m.put("auc_macro", macro);
        m.put("auc_per_class", per);
        return m;
    }

    private static double curve(JavaRDD<Tuple2<Double, Double>> pairs) {
        long[] counts = pairs.aggregate(new long[2], (c, p) -> {
            c[p._2() >= 0.5 ? 1 : 0]++;
            return c;
        }, (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
        return counts[0] > 0 && counts[1] > 0 ? BinaryEvaluation.areaUnderRoc(pairs) : Double.NaN;
    }
}

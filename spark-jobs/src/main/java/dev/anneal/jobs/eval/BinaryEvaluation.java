package dev.anneal.jobs.eval;

import dev.anneal.core.task.BinaryMetrics;
import dev.anneal.core.task.ClassificationBatches;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.engine.BroadcastModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.mllib.evaluation.BinaryClassificationMetrics;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores labeled records with a binary classifier on the executors and measures it: confusion counts, accuracy,
 * precision, recall, F1, ROC AUC (exact, by Spark MLlib's distributed ranking) and the mean cross-entropy.
 */
public final class BinaryEvaluation {
    private BinaryEvaluation() {
    }

    /** The measures of one split. */
    public record Result(BinaryMetrics counts, double auc, double loss) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>(counts.toMap(auc));
            m.put("loss", loss);
            return m;
        }
    }

    /** (probability of label 1, label) for every record, computed with the model broadcast once. */
    public static JavaRDD<Tuple2<Double, Integer>> probabilities(BroadcastModel model, JavaRDD<LabeledText> records,
                                                                 CharVocabulary vocabulary, int maxLength,
                                                                 int batchSize) {
        return records.mapPartitions(it -> {
            if (!it.hasNext()) {
                return new ArrayList<Tuple2<Double, Integer>>().iterator();
            }
            ComputationGraph net = model.load();
            Iterator<List<LabeledText>> batches = new BatchIterator<>(it, batchSize, b -> b);
            List<Tuple2<Double, Integer>> out = new ArrayList<>();
            while (batches.hasNext()) {
                List<LabeledText> batch = batches.next();
                DataSet ds = batch(batch, vocabulary, maxLength);
                INDArray p = net.output(false, new INDArray[] {ds.getFeatures()},
                        new INDArray[] {ds.getFeaturesMaskArray()})[0];
                for (int i = 0; i < batch.size(); i++) {
                    out.add(new Tuple2<>(p.getDouble(i, 0), batch.get(i).label()));
                }
            }
            return out.iterator();
        });
    }

    /** Minibatch of records for the classifier. */
    public static DataSet batch(List<LabeledText> records, CharVocabulary vocabulary, int maxLength) {
        int[][] tokens = new int[records.size()][];
        int[] labels = new int[records.size()];
        for (int i = 0; i < records.size(); i++) {
            String text = records.get(i).text();
            // Encode only the characters the model will read.
            int end = text.offsetByCodePoints(0, Math.min(maxLength, text.codePointCount(0, text.length())));
            tokens[i] = vocabulary.encode(text.substring(0, end));
            labels[i] = records.get(i).label();
        }
        return ClassificationBatches.binary(tokens, labels, maxLength);
    }

    public static Result evaluate(JavaSparkContext sc, ComputationGraph graph, JavaRDD<LabeledText> records,
                                  CharVocabulary vocabulary, int maxLength, int batchSize, double threshold) {
        BroadcastModel model = BroadcastModel.of(sc, graph);
        try {
            JavaRDD<Tuple2<Double, Integer>> scored = probabilities(model, records, vocabulary, maxLength, batchSize)
                    .cache();
            try {
                return measure(scored, threshold);
            } finally {
                scored.unpersist();
            }
        } finally {
            model.destroy();
        }
    }

    static Result measure(JavaRDD<Tuple2<Double, Integer>> scored, double threshold) {
        Tuple2<BinaryMetrics, Double> agg = scored.aggregate(new Tuple2<>(BinaryMetrics.EMPTY, 0.0),
                (acc, s) -> new Tuple2<>(acc._1().add(s._1() >= threshold, s._2() == 1),
                        acc._2() + crossEntropy(s._1(), s._2())),
                (a, b) -> new Tuple2<>(a._1().merge(b._1()), a._2() + b._2()));
        BinaryMetrics counts = agg._1();
        double auc = counts.positives() > 0 && counts.positives() < counts.count()
                ? areaUnderRoc(scored.map(s -> new Tuple2<>(s._1(), (double) s._2()))) : Double.NaN;
        return new Result(counts, auc, counts.count() == 0 ? Double.NaN : agg._2() / counts.count());
    }

    /**
     * The exact area under the ROC curve of (score, 0/1 label) pairs, by MLlib's distributed sort of the scores;
     * equal scores form one point of the curve, so a tie between a positive and a negative counts one half, as in
     * the pairwise definition P(score of a positive > score of a negative) + P(equal) / 2. The caller makes sure both
     * classes occur.
     */
    public static double areaUnderRoc(JavaRDD<Tuple2<Double, Double>> scoreAndLabel) {
        BinaryClassificationMetrics roc = new BinaryClassificationMetrics(
                scoreAndLabel.map(s -> new Tuple2<Object, Object>(s._1(), s._2())).rdd());
        try {
            return roc.areaUnderROC();
        } finally {
            roc.unpersist();
        }
    }

    private static double crossEntropy(double p, int label) {
        double q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
        return label == 1 ? -Math.log(q) : -Math.log(1 - q);
    }
}

package dev.anneal.jobs.eval;

import dev.anneal.core.task.ClassificationBatches;
import dev.anneal.core.task.TaskMetrics;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.RecordFeatures;
import dev.anneal.jobs.data.TaskRecord;
import dev.anneal.jobs.engine.BroadcastModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Scores the records of a multiclass, multi-label or regression task on the executors, with the model broadcast
 * once, and adds up {@link TaskMetrics}; also measures a constant prediction (the baseline) the same way.
 */
public final class TaskEvaluation {
    private TaskEvaluation() {
    }

    /** Minibatch of records for the network. */
    public static DataSet batch(List<TaskRecord> records, CharVocabulary vocabulary, int maxLength) {
        int[][] tokens = new int[records.size()][];
        float[][] targets = new float[records.size()][];
        for (int i = 0; i < records.size(); i++) {
            String text = records.get(i).text();
            int end = text.offsetByCodePoints(0, Math.min(maxLength, text.codePointCount(0, text.length())));
            tokens[i] = vocabulary.encode(text.substring(0, end));
            targets[i] = records.get(i).target();
        }
        return ClassificationBatches.of(tokens, targets, maxLength);
    }

    public static Map<String, Object> evaluate(JavaSparkContext sc, ComputationGraph graph,
                                               JavaRDD<TaskRecord> records, CharVocabulary vocabulary,
                                               int maxLength, int batchSize, String task, int outputs) {
        return evaluate(sc, graph, records, RecordFeatures.text(vocabulary, maxLength), batchSize, task, outputs);
    }

    /** As above, for records of any input kind: {@code features} turns a minibatch into the network's input. */
    public static Map<String, Object> evaluate(JavaSparkContext sc, ComputationGraph graph,
                                               JavaRDD<TaskRecord> records, RecordFeatures features,
                                               int batchSize, String task, int outputs) {
        BroadcastModel model = BroadcastModel.of(sc, graph);
        try {
            return records.mapPartitions((Iterator<TaskRecord> it) -> {
                TaskMetrics m = new TaskMetrics(task, outputs);
                if (!it.hasNext()) {
                    return List.of(m).iterator();
                }
                ComputationGraph net = model.load();
                Iterator<List<TaskRecord>> batches = new BatchIterator<>(it, batchSize, b -> b);
                while (batches.hasNext()) {
                    List<TaskRecord> batch = batches.next();
                    DataSet ds = features.batch(batch);
                    INDArray p = ds.getFeaturesMaskArray() == null ? net.output(false, ds.getFeatures())[0]
                            : net.output(false, new INDArray[] {ds.getFeatures()},
                                    new INDArray[] {ds.getFeaturesMaskArray()})[0];
                    for (int i = 0; i < batch.size(); i++) {
                        m.add(p.getRow(i).toFloatVector(), batch.get(i).target());
                    }
                }
                return List.of(m).iterator();
            }).fold(new TaskMetrics(task, outputs), TaskMetrics::merge).toMap();
        } finally {
            model.destroy();
        }
    }

    /** The figures of always predicting {@code constant}: the majority class, label rates or the mean. */
    public static Map<String, Object> constant(JavaRDD<TaskRecord> records, float[] constant, String task,
                                               int outputs) {
        return records.aggregate(new TaskMetrics(task, outputs), (m, r) -> m.add(constant, r.target()),
                TaskMetrics::merge).toMap();
    }

    /** The constant baseline from the training records: the majority class, each label's majority, or the mean. */
    public static float[] baseline(JavaRDD<TaskRecord> train, String task, int outputs) {
        double[] sums = train.map(r -> {
            double[] d = new double[outputs + 1];
            for (int i = 0; i < outputs; i++) {
                d[i] = r.target()[i];
            }
            d[outputs] = 1;
            return d;
        }).fold(new double[outputs + 1], (a, b) -> {
            double[] c = new double[outputs + 1];
            for (int i = 0; i <= outputs; i++) {
                c[i] = a[i] + b[i];
            }
            return c;
        });
        float[] out = new float[outputs];
        double n = Math.max(1, sums[outputs]);
        switch (task) {
            case "regression" -> out[0] = (float) (sums[0] / n);
            case "multiclass" -> {
                int best = 0;
                for (int i = 1; i < outputs; i++) {
                    best = sums[i] > sums[best] ? i : best;
                }
                out[best] = 1;
            }
            default -> {
                for (int i = 0; i < outputs; i++) {
                    out[i] = sums[i] * 2 > n ? 1 : 0;
                }
            }
        }
        return out;
    }

    /** The values as a list, for metrics.json. */
    public static List<Float> asList(float[] v) {
        List<Float> l = new ArrayList<>();
        for (float f : v) {
            l.add(f);
        }
        return l;
    }
}

package dev.anneal.jobs.engine;

import org.apache.spark.SparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

/**
 * A DL4J training listener that the training master hands to every worker: after each minibatch a worker fits, it
 * adds one minibatch, its examples and its loss to Spark accumulators, which the driver reads while the epoch runs.
 *
 * <p>Why DL4J's listener rather than a Spark listener counting finished tasks: tasks are not minibatches (a parameter
 * averaging task fits {@code averagingFrequency} of them, a gradient-sharing task a whole partition), and only the
 * worker sees the training loss. The accumulators' values still travel with task results, so the driver's view
 * advances once per finished task.
 */
final class ProgressListener extends BaseTrainingListener implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final LongAccumulator minibatches;
    private final LongAccumulator examples;
    private final DoubleAccumulator loss;

    ProgressListener(SparkContext sc) {
        this.minibatches = sc.longAccumulator("anneal.progress.minibatches");
        this.examples = sc.longAccumulator("anneal.progress.examples");
        this.loss = sc.doubleAccumulator("anneal.progress.loss");
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        double score = model.score();
        minibatches.add(1);
        examples.add(model instanceof ComputationGraph g ? g.batchSize() : model.batchSize());
        if (Double.isFinite(score)) {
            loss.add(score);
        }
    }

    /** The totals the driver has received so far (call on the driver). */
    TrainingProgress snapshot() {
        return new TrainingProgress(minibatches.value(), examples.value(), loss.value());
    }
}

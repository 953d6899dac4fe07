package dev.anneal.jobs.eval;

import dev.anneal.jobs.engine.BroadcastModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

import java.util.List;

/**
 * The mean next-character cross-entropy of a language model over a set of minibatches, computed on the executors;
 * only two sums reach the driver.
 */
public final class LanguageModelLoss {
    private LanguageModelLoss() {
    }

    /** Loss in nats per predicted character, and how many characters it was measured on. */
    public record Result(double nats, long characters) {
        public double bitsPerCharacter() {
            return nats / Math.log(2);
        }
    }

    public static Result of(JavaSparkContext sc, ComputationGraph graph, JavaRDD<DataSet> minibatches) {
        BroadcastModel model = BroadcastModel.of(sc, graph);
        try {
            double[] sums = minibatches.mapPartitions(it -> {
                ComputationGraph net = null;
                double loss = 0;
                double chars = 0;
                while (it.hasNext()) {
                    DataSet ds = it.next();
                    if (net == null) {
                        net = model.load();
                    }
                    // DL4J's score sums the loss over time steps and averages over the examples.
                    long steps = ds.getLabelsMaskArray() == null
                            ? ds.numExamples() * ds.getLabels().size(2)
                            : ds.getLabelsMaskArray().sumNumber().longValue();
                    loss += net.score(ds, false) * ds.numExamples();
                    chars += steps;
                }
                return List.of(new double[] {loss, chars}).iterator();
            }).reduce((a, b) -> new double[] {a[0] + b[0], a[1] + b[1]});
            if (sums[1] == 0) {
                return new Result(Double.NaN, 0);
            }
            return new Result(sums[0] / sums[1], (long) sums[1]);
        } finally {
            model.destroy();
        }
    }
}

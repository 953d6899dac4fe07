package dev.anneal.jobs;

import dev.anneal.core.DivergenceException;
import org.deeplearning4j.nn.graph.ComputationGraph;

/** Stops a run (exit code 4) when the loss or any parameter is NaN or infinite, before anything of it is saved. */
final class DivergenceGuard {
    private DivergenceGuard() {
    }

    static void check(ComputationGraph graph, double loss, String when) {
        if (!Double.isFinite(loss)) {
            throw new DivergenceException("training diverged " + when + ": loss is " + loss
                    + "; no checkpoint was written for it (lower training.learningRate)");
        }
        double sum = graph.params().sumNumber().doubleValue();
        if (!Double.isFinite(sum)) {
            throw new DivergenceException("training diverged " + when + ": the parameters hold NaN or Inf; "
                    + "no checkpoint was written for it (lower training.learningRate)");
        }
    }
}

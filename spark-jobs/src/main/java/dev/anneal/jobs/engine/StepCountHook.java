package dev.anneal.jobs.engine;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.io.IOException;
import java.io.ObjectOutputStream;

/**
 * Gives DL4J's parameter-averaging workers the driver's step count. Each averaging round they rebuild the network
 * from a configuration whose step count is 0, so Adam's bias correction (Kingma and Ba 2015, Algorithm 1:
 * m̂ = m / (1 − β₁ᵗ)) would restart at t = 1 every round and take steps too large for the state it carries. The
 * count is read from the driver's network when the hook is serialized for a round, and set on the worker's copy
 * before its first minibatch.
 */
final class StepCountHook implements TrainingHook {
    private static final long serialVersionUID = 1L;

    private transient SparkComputationGraph driver;
    private int steps;
    private transient boolean applied;

    void attach(SparkComputationGraph driverNetwork) {
        this.driver = driverNetwork;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        if (driver != null) {
            steps = driver.getNetwork().getConfiguration().getIterationCount();
        }
        out.defaultWriteObject();
    }

    private void apply(Model model) {
        if (!applied && model instanceof ComputationGraph graph) {
            graph.getConfiguration().setIterationCount(steps);
            applied = true;
        }
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
        apply(model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
        apply(model);
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
        // nothing to do after a step
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
        // nothing to do after a step
    }
}

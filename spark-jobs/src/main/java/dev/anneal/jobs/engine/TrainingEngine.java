package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Trains one network across Spark executors. Jobs talk only to this interface, never to a DL4J training master, so
 * an engine of Anneal's own can stand beside DL4J's (whose Spark module is no longer maintained upstream).
 */
public interface TrainingEngine extends AutoCloseable {

    /**
     * One pass over {@code minibatches} (the caller may cache them; the engine keeps its own working copy of the
     * pass and releases it afterwards); returns the network with the parameters and updater state after the pass.
     */
    ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches);

    /**
     * One pass over minibatches already dealt to the workers: partition {@code i} is worker {@code i}'s share, in
     * the order it trains on them ({@link EpochPlan} deals them so). Returns the network after the pass.
     */
    ComputationGraph fitPass(JavaRDD<DataSet> dealt);

    /**
     * The training score of the last pass as the workers reported it (DL4J's score: the loss summed over time steps
     * for sequence outputs, averaged over the minibatch), where the engine has one; the divergence guard reads it.
     */
    default java.util.OptionalDouble lastTrainingLoss() {
        return java.util.OptionalDouble.empty();
    }

    /**
     * One pass over minibatches exported to files beforehand (DL4J's export approach: one {@code DataSet.save} file
     * per minibatch, {@code paths} naming them); kept for comparison with {@link #fitEpoch}, which
     * docs/BENCHMARKS.md measured to be faster here.
     */
    default ComputationGraph fitPaths(JavaRDD<String> paths) {
        throw new UnsupportedOperationException("the " + name() + " engine trains from DataSets, not exported files");
    }

    /**
     * The GPUs the last pass's training tasks were bound to, one entry per task that Spark gave a GPU; empty without
     * GPU resource scheduling.
     */
    java.util.List<GpuBinding.Binding> deviceBindings();

    /**
     * What the training tasks of this engine have reported since it was created, read while a pass runs; engines
     * that cannot tell report {@link TrainingProgress#NONE}.
     */
    default TrainingProgress progress() {
        return TrainingProgress.NONE;
    }

    /** The bytes the last pass moved between driver and executors. */
    Traffic lastTraffic();

    /** Workers training in parallel. */
    int workers();

    /** The network as trained so far. */
    ComputationGraph network();

    /**
     * The network as a checkpoint should hold it. An engine whose workers keep training state that the driver's
     * network does not follow from pass to pass (the local-sgd sparse exchange's per-worker Adam state) fetches it
     * first; the others return {@link #network()}. What the next pass does is unchanged.
     */
    default ComputationGraph checkpointState() {
        return network();
    }

    /** A short name for logs and manifests. */
    String name();

    @Override
    void close();
}

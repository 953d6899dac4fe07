package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.graph.dataset.DataSetToMultiDataSetFn;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

import java.util.List;

/**
 * What the engines over DL4J's Spark training masters share: the wrapped graph and one pass over an RDD.
 *
 * <p>The engine deals the minibatches to the workers itself ({@link Shuffle}, a new random deal each pass) and
 * tells DL4J not to repartition: DL4J's own repartition is a shuffle right before its training tasks, and the GPU
 * binding must run in the training task, which it then does (a narrow dependency keeps it in the same task and
 * thread as DL4J's worker).
 */
abstract class Dl4jSparkEngine implements TrainingEngine {
    protected final SparkComputationGraph spark;
    private final int workers;
    private final boolean balance;
    private final CollectionAccumulator<GpuBinding.Binding> bindings;
    private final TrafficMeter meter;
    private Traffic traffic = Traffic.NONE;
    private final java.util.Random passSeeds;
    private final ProgressListener progress;

    /**
     * @param balance spread the minibatches evenly over {@code workers} partitions before each pass; without it the
     *                caller's partitioning and order are kept
     */
    Dl4jSparkEngine(JavaSparkContext sc, ComputationGraph network, TrainingMaster<?, ?> master, int workers,
                    boolean balance, long seed) {
        this.passSeeds = new java.util.Random(seed);
        this.spark = new SparkComputationGraph(sc, network, master);
        this.workers = workers;
        this.balance = balance;
        this.bindings = sc.sc().collectionAccumulator("anneal.gpuBindings");
        this.meter = new TrafficMeter(sc.sc());
        this.progress = new ProgressListener(sc.sc());
        this.spark.setListeners(List.of(progress));
    }

    @Override
    public TrainingProgress progress() {
        return progress.snapshot();
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
        return fitPass(balance ? Shuffle.deal(minibatches, workers, passSeeds.nextLong()) : minibatches);
    }

    @Override
    public ComputationGraph fitPass(JavaRDD<DataSet> dealt) {
        bindings.reset();
        meter.start();
        GpuBinding binding = new GpuBinding(bindings);
        try {
            for (JavaRDD<DataSet> fit : fits(dealt)) {
                // DL4J persists the RDD it trains on (its rounds would otherwise recompute the minibatches each
                // time) and never releases it; converting here keeps that RDD ours, so it is released after the fit.
                JavaRDD<MultiDataSet> converted = fit.mapPartitions(binding::bind).map(new DataSetToMultiDataSetFn());
                try {
                    spark.fitMultiDataSet(converted);
                } finally {
                    converted.unpersist(false);
                }
            }
            return spark.getNetwork();
        } finally {
            release(dealt);
            traffic = meter.stop();
        }
    }

    /** The pass as DL4J is to see it, one fit after another; by default the whole pass in one fit. */
    protected List<JavaRDD<DataSet>> fits(JavaRDD<DataSet> dealt) {
        return List.of(dealt);
    }

    /** Releases what {@link #fits} kept for the pass. */
    protected void release(JavaRDD<DataSet> dealt) {
    }

    @Override
    public java.util.OptionalDouble lastTrainingLoss() {
        double score = spark.getScore();
        return score == 0 ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(score);
    }

    @Override
    public ComputationGraph fitPaths(JavaRDD<String> paths) {
        meter.start();
        try {
            return spark.fitPaths(balance ? paths.repartition(workers) : paths);
        } finally {
            traffic = meter.stop();
        }
    }

    @Override
    public List<GpuBinding.Binding> deviceBindings() {
        return List.copyOf(bindings.value());
    }

    @Override
    public Traffic lastTraffic() {
        return traffic;
    }

    @Override
    public int workers() {
        return workers;
    }

    @Override
    public ComputationGraph network() {
        return spark.getNetwork();
    }

    @Override
    public void close() {
        meter.close();
        spark.getTrainingMaster().deleteTempFiles(spark.getSparkContext());
    }
}

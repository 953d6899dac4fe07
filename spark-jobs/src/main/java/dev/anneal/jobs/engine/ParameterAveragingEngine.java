package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.deeplearning4j.spark.impl.graph.dataset.DataSetToMultiDataSetFn;

/**
 * DL4J's synchronous parameter averaging: each worker fits its share of the minibatches, and every
 * {@code averagingFrequency} minibatches the driver averages parameters and updater state.
 */
public final class ParameterAveragingEngine implements TrainingEngine {
    private final SparkComputationGraph spark;

    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        this(sc, network, settings, Repartition.Always);
    }

    /**
     * @param repartition {@code Never} keeps the caller's partitioning and order, which the equivalence test against
     *                    single-JVM training relies on; {@code Always} balances the minibatches over the workers
     */
    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings,
                                    Repartition repartition) {
        StepCountHook stepCount = new StepCountHook();
        ParameterAveragingTrainingMaster master = new ParameterAveragingTrainingMaster.Builder(
                settings.workers(), settings.training().batchSize())
                .batchSizePerWorker(settings.training().batchSize())
                .averagingFrequency(settings.training().averagingFrequency())
                .workerPrefetchNumBatches(settings.training().prefetch())
                .saveUpdater(true)
                // Direct trains from the RDD itself; the Export default writes DataSet files to the default
                // filesystem first and refuses a cluster master when that filesystem is local.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(repartition)
                .rngSeed(settings.seed())
                .collectTrainingStats(false)
                .trainingHooks(stepCount)
                .build();
        this.spark = new SparkComputationGraph(sc, network, master);
        stepCount.attach(spark);
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
        // DL4J persists the RDD it trains on (its split rounds would otherwise recompute the minibatches each
        // time) and never releases it; converting here keeps that RDD ours, so it is released after the pass.
        JavaRDD<MultiDataSet> converted = minibatches.map(new DataSetToMultiDataSetFn());
        try {
            return spark.fitMultiDataSet(converted);
        } finally {
            converted.unpersist(false);
        }
    }

    @Override
    public ComputationGraph network() {
        return spark.getNetwork();
    }

    @Override
    public String name() {
        return "parameter-averaging";
    }

    @Override
    public void close() {
        spark.getTrainingMaster().deleteTempFiles(spark.getSparkContext());
    }
}

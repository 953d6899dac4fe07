package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.graph.dataset.DataSetToMultiDataSetFn;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;

/**
 * DL4J's gradient sharing: every worker trains on its partition and, after each minibatch, sends the update
 * entries above an adaptive threshold (Strom 2015, "Scalable distributed DNN training using commodity GPU cloud
 * computing"), keeping the rest as a residual; the workers exchange them over an Aeron UDP transport.
 */
public final class GradientSharingEngine implements TrainingEngine {
    private final SparkComputationGraph spark;

    public GradientSharingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        var training = settings.training();
        var knobs = training.gradientSharing();
        VoidConfiguration transport = VoidConfiguration.builder()
                .unicastPort(knobs.port())
                .portSupplier(new ExecutorPortSupplier(knobs.port()))
                .networkMask(knobs.networkMask())
                .controllerAddress(knobs.controller().isBlank() ? null : knobs.controller())
                .build();
        SharedTrainingMaster master = new SharedTrainingMaster.Builder(transport, settings.workers(),
                new AdaptiveThresholdAlgorithm(knobs.threshold()), training.batchSize())
                .batchSizePerWorker(training.batchSize())
                .workersPerNode(1)
                .workerPrefetchNumBatches(training.prefetch())
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .rngSeed(settings.seed())
                .collectTrainingStats(false)
                .build();
        this.spark = new SparkComputationGraph(sc, network, master);
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
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
        return "gradient-sharing";
    }

    @Override
    public void close() {
        spark.getTrainingMaster().deleteTempFiles(spark.getSparkContext());
    }
}

package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;

/**
 * DL4J's gradient sharing: every worker trains on its partition and, after each minibatch, sends the update
 * entries above an adaptive threshold (Strom 2015, "Scalable distributed DNN training using commodity GPU cloud
 * computing"), keeping the rest as a residual; the workers exchange them over an Aeron UDP transport.
 */
public final class GradientSharingEngine extends Dl4jSparkEngine {

    public GradientSharingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        super(sc, network, master(settings));
    }

    private static SharedTrainingMaster master(EngineSettings settings) {
        var training = settings.training();
        var knobs = training.gradientSharing();
        VoidConfiguration transport = VoidConfiguration.builder()
                .unicastPort(knobs.port())
                .portSupplier(new ExecutorPortSupplier(knobs.port()))
                .networkMask(knobs.networkMask())
                .controllerAddress(knobs.controller().isBlank() ? null : knobs.controller())
                .build();
        return new SharedTrainingMaster.Builder(transport, settings.workers(),
                new AdaptiveThresholdAlgorithm(knobs.threshold()), training.batchSize())
                .batchSizePerWorker(training.batchSize())
                .workersPerNode(1)
                .workerPrefetchNumBatches(training.prefetch())
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .rngSeed(settings.seed())
                .collectTrainingStats(false)
                .build();
    }

    @Override
    public String name() {
        return "gradient-sharing";
    }
}

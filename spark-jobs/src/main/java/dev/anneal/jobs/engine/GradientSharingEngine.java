package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import dev.anneal.core.config.GradientSharingSettings;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.NoOpResidualPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.ResidualClippingPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.TargetSparsityThresholdAlgorithm;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;

/**
 * DL4J's gradient sharing: every worker trains on its partition and, after each minibatch, sends the update
 * entries above an adaptive threshold (Strom 2015, "Scalable distributed DNN training using commodity GPU cloud
 * computing"), keeping the rest as a residual; the workers exchange them over an Aeron UDP transport.
 */
public final class GradientSharingEngine extends Dl4jSparkEngine {

    public GradientSharingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        super(sc, network, master(settings, trainersPerExecutor(sc, settings)), settings.workers(), true,
                settings.seed());
    }

    /**
     * DL4J runs one trainer pool per executor JVM, fed by all of that executor's tasks: as many trainers as tasks
     * run there at once, unless the config says otherwise.
     */
    static int trainersPerExecutor(JavaSparkContext sc, EngineSettings settings) {
        int configured = settings.training().gradientSharing().workersPerNode();
        if (configured > 0) {
            return configured;
        }
        int taskCpus = sc.getConf().getInt("spark.task.cpus", 1);
        int cores = sc.master().startsWith("local") ? sc.defaultParallelism()
                : sc.getConf().getInt("spark.executor.cores", 1);
        return Math.max(1, cores / taskCpus);
    }

    private static SharedTrainingMaster master(EngineSettings settings, int trainersPerExecutor) {
        var training = settings.training();
        var knobs = training.gradientSharing();
        VoidConfiguration transport = VoidConfiguration.builder()
                .unicastPort(knobs.port())
                .portSupplier(new ExecutorPortSupplier(knobs.port()))
                .networkMask(knobs.networkMask())
                .controllerAddress(knobs.controller().isBlank() ? null : knobs.controller())
                .build();
        SharedTrainingMaster.Builder builder = new SharedTrainingMaster.Builder(transport, settings.workers(),
                thresholdAlgorithm(knobs), training.batchSize())
                .batchSizePerWorker(training.batchSize())
                .workersPerNode(trainersPerExecutor)
                // DL4J's default repartitioner gives every minibatch a task of its own (hundreds of tasks per
                // pass); the engine has already balanced the pass over the workers.
                .repartitioner(null)
                .workerPrefetchNumBatches(training.prefetch())
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartitionData(Repartition.Never)
                // DL4J counts the pass, then trains on it: keep it as objects, not serialized (its default).
                .storageLevel(StorageLevel.MEMORY_ONLY())
                .rngSeed(settings.seed())
                .collectTrainingStats(false);
        if (knobs.residualClip() > 0) {
            builder.residualPostProcessor(
                    new ResidualClippingPostProcessor(knobs.residualClip(), knobs.residualClipEvery()));
        } else {
            builder.residualPostProcessor(new NoOpResidualPostProcessor());
        }
        return builder.build();
    }

    static ThresholdAlgorithm thresholdAlgorithm(GradientSharingSettings knobs) {
        return switch (knobs.thresholdAlgorithm()) {
            case GradientSharingSettings.ADAPTIVE -> new AdaptiveThresholdAlgorithm(knobs.threshold(),
                    AdaptiveThresholdAlgorithm.DEFAULT_MIN_SPARSITY_TARGET,
                    AdaptiveThresholdAlgorithm.DEFAULT_MAX_SPARSITY_TARGET,
                    AdaptiveThresholdAlgorithm.DEFAULT_DECAY_RATE);
            case GradientSharingSettings.FIXED -> new FixedThresholdAlgorithm(knobs.threshold());
            case GradientSharingSettings.TARGET_SPARSITY -> new TargetSparsityThresholdAlgorithm(knobs.threshold(),
                    knobs.sparsityTarget(), TargetSparsityThresholdAlgorithm.DEFAULT_DECAY_RATE);
            default -> throw new IllegalArgumentException("unknown threshold algorithm " + knobs.thresholdAlgorithm());
        };
    }

    @Override
    public String name() {
        return "gradient-sharing";
    }
}

package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;

/**
 * DL4J's synchronous parameter averaging: each worker fits its share of the minibatches, and every
 * {@code averagingFrequency} minibatches the driver averages parameters and updater state.
 */
public final class ParameterAveragingEngine extends Dl4jSparkEngine {

    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        this(sc, network, settings, Repartition.Always);
    }

    /**
     * @param repartition {@code Never} keeps the caller's partitioning and order, which the equivalence test against
     *                    single-JVM training relies on; {@code Always} balances the minibatches over the workers
     *                    (the engine does it, not DL4J: see {@link Dl4jSparkEngine})
     */
    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings,
                                    Repartition repartition) {
        this(sc, network, settings, repartition, new StepCountHook());
    }

    private ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings,
                                     Repartition repartition, StepCountHook stepCount) {
        super(sc, network, new ParameterAveragingTrainingMaster.Builder(
                settings.workers(), settings.training().batchSize())
                .batchSizePerWorker(settings.training().batchSize())
                .averagingFrequency(settings.training().averagingFrequency())
                .workerPrefetchNumBatches(settings.training().prefetch())
                .saveUpdater(true)
                // Each averaging round filters its share out of the whole persisted pass, so DL4J's default
                // MEMORY_ONLY_SER would deserialize every minibatch of the pass once per round.
                .storageLevel(StorageLevel.MEMORY_ONLY())
                // Direct trains from the RDD itself; the Export default writes DataSet files to the default
                // filesystem first and refuses a cluster master when that filesystem is local.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(Repartition.Never)
                .rngSeed(settings.seed())
                .collectTrainingStats(false)
                .trainingHooks(stepCount)
                .build(), settings.workers(), repartition == Repartition.Always,
                settings.seed());
        stepCount.attach(spark);
    }

    @Override
    public String name() {
        return "parameter-averaging";
    }
}

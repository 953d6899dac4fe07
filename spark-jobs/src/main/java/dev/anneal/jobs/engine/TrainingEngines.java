package dev.anneal.jobs.engine;

import dev.anneal.core.config.TrainingSettings;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;

/** Chooses the engine that {@code training.engine} names. */
public final class TrainingEngines {
    private TrainingEngines() {
    }

    public static TrainingEngine create(JavaSparkContext sc, ComputationGraph network, TrainingSettings training,
                                       long seed) {
        int workers = training.workers() > 0 ? training.workers() : sc.defaultParallelism();
        EngineSettings settings = new EngineSettings(training, seed, workers);
        return switch (training.engine()) {
            case TrainingSettings.PARAMETER_AVERAGING -> new ParameterAveragingEngine(sc, network, settings);
            case TrainingSettings.GRADIENT_SHARING -> new GradientSharingEngine(sc, network, settings);
            case TrainingSettings.LOCAL_SGD -> new LocalSgdEngine(sc, network, settings);
            default -> throw new IllegalArgumentException("unknown training.engine " + training.engine());
        };
    }
}

package dev.anneal.jobs.engine;

import dev.anneal.core.config.TrainingSettings;

/**
 * What an engine needs to know beyond the network: the job's training settings, the seed and the number of workers
 * resolved against the Spark context.
 */
public record EngineSettings(TrainingSettings training, long seed, int workers) {
    public EngineSettings {
        if (workers <= 0) {
            throw new IllegalArgumentException("workers must be > 0, got " + workers);
        }
    }
}

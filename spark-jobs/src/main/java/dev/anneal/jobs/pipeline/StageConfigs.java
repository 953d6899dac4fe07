package dev.anneal.jobs.pipeline;

import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.ConfigSchema;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.config.PretrainConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The configs of the three jobs a pipeline run drives: each job's YAML file, then the pipeline's overrides of it,
 * then the keys the pipeline owns (paths, the step budget). All three are loaded once before the lock is taken or
 * Spark starts, so a mistake in any of them is a config error (exit 2) up front.
 */
final class StageConfigs {
    private final PipelineConfig config;
    private final String dataset;
    private final String pretrainRun;

    StageConfigs(PipelineConfig config, String dataset, String pretrainRun) {
        this.config = config;
        this.dataset = dataset;
        this.pretrainRun = pretrainRun;
        ingest();
        pretrain(config.stepsPerRun(), 1);
        finetune("validated-later", pretrainRun);
    }

    IngestConfig ingest() {
        return load(IngestConfig.SCHEMA, config.ingestConfig(), config.ingestOverrides(),
                List.of("input=" + config.slice(), "output=" + dataset));
    }

    /**
     * The pretrain config of one invocation: the dataset in, the continuing run out, {@code steps} to train, a pass
     * end at every multiple of {@code passEvery} steps (so the budget ends exactly on its target), and no epoch
     * limit: the step budget alone decides how far the run goes.
     */
    PretrainConfig pretrain(long steps, long passEvery) {
        return load(PretrainConfig.SCHEMA, config.pretrainConfig(), config.pretrainOverrides(),
                List.of("input=" + dataset, "output=" + pretrainRun, "training.stepsPerRun=" + steps,
                        "training.divergenceCheckSteps=" + passEvery, "training.epochs=" + UNLIMITED_EPOCHS));
    }

    /** The divergence-check interval the pretrain config asks for (0 = once per pass). */
    int pretrainDivergenceCheckSteps() {
        return load(PretrainConfig.SCHEMA, config.pretrainConfig(), config.pretrainOverrides(),
                List.of("input=" + dataset, "output=" + pretrainRun)).cadence().divergenceCheckSteps();
    }

    FinetuneConfig finetune(String output, String checkpoint) {
        return load(FinetuneConfig.SCHEMA, config.finetuneConfig(), config.finetuneOverrides(),
                List.of("input=" + config.labeled(), "output=" + output, "checkpoint=" + checkpoint));
    }

    /** training.epochs of the continuing pretraining run: never the limit, the pipeline's step budget is. */
    static final int UNLIMITED_EPOCHS = 1_000_000;

    private <T> T load(ConfigSchema<T> schema, String file, List<String> overrides, List<String> owned) {
        List<String> all = new ArrayList<>(overrides);
        all.addAll(owned);
        if (!config.master().isBlank()) {
            all.add("spark.master=" + config.master());
        }
        try {
            return schema.load(Path.of(file), all);
        } catch (ConfigException e) {
            throw new ConfigException("pipeline, " + schema.job() + " step (" + file + "): " + e.getMessage());
        }
    }
}

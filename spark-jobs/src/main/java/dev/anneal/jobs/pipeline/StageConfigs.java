package dev.anneal.jobs.pipeline;

import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.ConfigSchema;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.conf.Configuration;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The configs of the four jobs a pipeline run drives: each job's YAML file (evaluate has none: its defaults), then
 * the pipeline's overrides of it, then the keys the pipeline owns (paths, the step budget, the evaluation data).
 * All four are loaded once before the lock is taken or
 * Spark starts, so a mistake in any of them is a config error (exit 2) up front.
 */
final class StageConfigs {
    private final PipelineConfig config;
    private final String dataset;
    private final String pretrainRun;

    StageConfigs(PipelineConfig config, String dataset, String pretrainRun, Configuration hadoop) {
        this.config = config;
        this.dataset = dataset;
        this.pretrainRun = pretrainRun;
        this.labeledIsDataset = DatasetFiles.isDataset(config.labeled(), hadoop)
                || ImageRecords.isImageDataset(config.labeled(), hadoop);
        ingest();
        pretrain(config.stepsPerRun(), 1);
        finetune("validated-later", pretrainRun);
        evaluate("validated-later", "validated-later");
    }

    private final boolean labeledIsDataset;

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

    /**
     * The evaluate config of one model: {@code evaluate.input}, or when that is empty the test split of
     * {@code labeled} as the fine-tune assigns it: a dataset's own split by record id, a table's by the stable hash of
     * the text with the finetune config's fractions. Never the records the candidate trained on.
     */
    EvaluateConfig evaluate(String checkpoint, String output) {
        List<String> owned = new ArrayList<>();
        if (config.evaluateInput().isBlank()) {
            owned.add("input=" + config.labeled());
            owned.add("evaluate.split=test");
            if (!labeledIsDataset) {
                FinetuneConfig f = finetune("validated-later", pretrainRun);
                owned.addAll(List.of("evaluate.tableSplit=true", "split.validationFraction=" + f.validationFraction(),
                        "split.testFraction=" + f.testFraction()));
            }
        } else {
            owned.add("input=" + config.evaluateInput());
        }
        owned.addAll(List.of("output=" + output, "checkpoint=" + checkpoint));
        return load(EvaluateConfig.SCHEMA, null, config.evaluateOverrides(), owned);
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
            return schema.load(file == null ? null : Path.of(file), all);
        } catch (ConfigException e) {
            throw new ConfigException("pipeline, " + schema.job() + " step (" + (file == null ? "evaluate.overrides"
                    : file) + "): " + e.getMessage());
        }
    }
}

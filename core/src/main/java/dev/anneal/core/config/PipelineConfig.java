package dev.anneal.core.config;

import java.util.List;

/**
 * The scheduled pipeline: one run (one {@code runId}) ingests a new slice, continues pretraining by a step budget,
 * fine-tunes from the checkpoint that produced, and promotes the fine-tuned model in a registry when it beats the
 * current one.
 *
 * @param root               the pipeline directory (any Hadoop URI): dataset/, runs/, models/, pipeline/
 * @param runId              this scheduled run's id (e.g. the date); the pipeline's unit of idempotency
 * @param slice              the raw slice to ingest; any Hadoop URI
 * @param labeled            labeled records for fine-tuning (JSON Lines, Parquet or a labeled dataset directory)
 * @param ingestConfig       the ingest job's YAML file; its input and output are set by the pipeline
 * @param pretrainConfig     the pretrain job's YAML file; its input, output and step budget are set by the pipeline
 * @param finetuneConfig     the finetune job's YAML file; its input, output and checkpoint are set by the pipeline
 * @param ingestOverrides    {@code key=value} overrides of the ingest config, applied after the file
 * @param pretrainOverrides  {@code key=value} overrides of the pretrain config
 * @param finetuneOverrides  {@code key=value} overrides of the finetune config
 * @param evaluateInput      held-out labeled records the candidate and the current model are measured on; empty =
 *                           the test split of {@code labeled} as the fine-tune assigns it
 * @param evaluateOverrides  {@code key=value} overrides of the evaluate config (scoring, calibration bins)
 * @param stepsPerRun        pretraining steps (minibatches) each pipeline run adds
 * @param modelName          the registry's model name: {@code models/<name>/}
 * @param metric             the test metric promotion compares: f1, auc or accuracy
 * @param minImprovement     how much the candidate's metric must exceed the current model's to be promoted
 * @param staleMinutes       a lock not refreshed for this long is stale and taken over
 * @param master             Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 */
public record PipelineConfig(String root, String runId, String slice, String labeled, String ingestConfig,
                             String pretrainConfig, String finetuneConfig, List<String> ingestOverrides,
                             List<String> pretrainOverrides, List<String> finetuneOverrides,
                             String evaluateInput, List<String> evaluateOverrides, long stepsPerRun,
                             String modelName, String metric, double minImprovement, double staleMinutes,
                             String master) {
    public static final List<String> METRICS = List.of("f1", "auc", "accuracy");

    public PipelineConfig {
        Require.present("root", root, "--output");
        Require.present("runId", runId, "--set runId=ID");
        if (!runId.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}")) {
            throw new ConfigException("runId must be 1-100 letters, digits, '.', '_' or '-' starting with a letter "
                    + "or digit (it names a directory), got '" + runId + "'");
        }
        Require.present("slice", slice, "--input");
        Require.present("labeled", labeled, "--set labeled=URI");
        Require.present("ingest.config", ingestConfig, "--set ingest.config=FILE");
        Require.present("pretrain.config", pretrainConfig, "--set pretrain.config=FILE");
        Require.present("finetune.config", finetuneConfig, "--set finetune.config=FILE");
        ingestOverrides = List.copyOf(ingestOverrides);
        pretrainOverrides = List.copyOf(pretrainOverrides);
        finetuneOverrides = List.copyOf(finetuneOverrides);
        evaluateOverrides = List.copyOf(evaluateOverrides);
        Require.positive("pretrain.stepsPerRun", stepsPerRun);
        Require.present("model.name", modelName, "--set model.name=NAME");
        if (!modelName.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}")) {
            throw new ConfigException("model.name must be letters, digits, '.', '_' or '-' (it names a directory), "
                    + "got '" + modelName + "'");
        }
        if (!METRICS.contains(metric)) {
            throw new ConfigException("promote.metric must be one of " + METRICS + ", got '" + metric + "'");
        }
        Require.nonNegative("promote.minImprovement", minImprovement);
        Require.positive("lock.staleMinutes", staleMinutes);
    }

    public static final ConfigSchema<PipelineConfig> SCHEMA = new ConfigSchema<>("pipeline", List.of(
            ConfigField.string("root", "",
                    "Pipeline directory, any Hadoop URI: dataset/, runs/pretrain/, runs/finetune/<runId>/, "
                            + "models/<name>/, pipeline/<runId>/state.json, pipeline.lock. --output sets it."),
            ConfigField.string("runId", "",
                    "This run's id, e.g. the date a scheduler passes ({{ ds }}); a rerun of the same id resumes it "
                            + "or, when complete, does nothing."),
            ConfigField.string("slice", "", "The new raw slice to ingest, any Hadoop URI. --input sets it."),
            ConfigField.string("labeled", "data-samples/spam/emails.jsonl",
                    "Labeled records for fine-tuning: JSON Lines, Parquet or a labeled dataset directory."),
            ConfigField.string("ingest.config", "conf/ingest-text.yaml",
                    "The ingest job's YAML; input and output are set by the pipeline."),
            ConfigField.string("pretrain.config", "conf/pretrain.yaml",
                    "The pretrain job's YAML; input, output, training.stepsPerRun, training.epochs and "
                            + "training.divergenceCheckSteps are set by the pipeline."),
            ConfigField.string("finetune.config", "conf/finetune.yaml",
                    "The finetune job's YAML; input, output and checkpoint are set by the pipeline."),
            ConfigField.list("ingest.overrides", List.of(), "key=value overrides of the ingest config."),
            ConfigField.list("pretrain.overrides", List.of(), "key=value overrides of the pretrain config."),
            ConfigField.list("finetune.overrides", List.of(), "key=value overrides of the finetune config."),
            ConfigField.string("evaluate.input", "",
                    "Held-out labeled records (JSON Lines, Parquet or a labeled dataset directory) that the candidate "
                            + "and the current model are both measured on; empty = the test split of labeled as "
                            + "the fine-tune assigns it (by record id in a dataset, else by the stable hash of the "
                            + "text with the finetune config's split fractions)."),
            ConfigField.list("evaluate.overrides", List.of(),
                    "key=value overrides of the evaluate job's config (scoring.batchSize, evaluate.split of an "
                            + "evaluate.input dataset, ...); input, output and checkpoint are set by the pipeline."),
            ConfigField.longValue("pretrain.stepsPerRun", 200,
                    "Pretraining steps (minibatches) each pipeline run adds to the continuing run."),
            ConfigField.string("model.name", "spam", "Registry name: models/<name>/."),
            ConfigField.choice("promote.metric", "f1", METRICS,
                    "Metric that promotion compares, of the candidate and the current model evaluated on the same "
                            + "records (evaluate.input)."),
            ConfigField.decimal("promote.minImprovement", 0.0,
                    "The candidate is promoted when its metric exceeds the current model's by more than this "
                            + "(the first model is always promoted)."),
            ConfigField.decimal("lock.staleMinutes", 30,
                    "A pipeline.lock not refreshed for this long (its holder refreshes it every quarter of this) "
                            + "is stale and taken over; so is one whose process is gone on this host."),
            ConfigField.string("spark.master", "", "Spark master URL; empty = the one spark-submit set, else local[*].")),
            PipelineConfig::from);

    private static PipelineConfig from(ConfigValues v) {
        return new PipelineConfig(v.string("root"), v.string("runId"), v.string("slice"), v.string("labeled"),
                v.string("ingest.config"), v.string("pretrain.config"), v.string("finetune.config"),
                v.list("ingest.overrides"), v.list("pretrain.overrides"), v.list("finetune.overrides"),
                v.string("evaluate.input"), v.list("evaluate.overrides"), v.longValue("pretrain.stepsPerRun"),
                v.string("model.name"), v.string("promote.metric"), v.decimal("promote.minImprovement"),
                v.decimal("lock.staleMinutes"), v.string("spark.master"));
    }
}

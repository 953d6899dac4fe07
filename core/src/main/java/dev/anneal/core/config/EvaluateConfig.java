package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The evaluation job: a fine-tuned checkpoint scored on a labeled test set on the executors, its figures in
 * {@code metrics.json}.
 *
 * @param input            labeled records: Parquet (file or directory), JSON Lines, or a dataset directory
 * @param output           where {@code metrics.json} and {@code quarantine/} are written
 * @param checkpoint       a fine-tuned model directory ({@code anneal finetune}'s {@code OUTPUT/model})
 * @param master           Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 * @param labelField       name of the label column; empty = the checkpoint's {@code task.labelField}
 * @param split            of a dataset directory, the split to evaluate
 * @param calibrationBins  equal-width confidence bins of the expected calibration error
 * @param scoring          how records are fed to the model
 */
public record EvaluateConfig(String input, String output, String checkpoint, String master, String labelField,
                             String split, int calibrationBins, ScoringSettings scoring) {
    public static final List<String> SPLITS = List.of("train", "validation", "test");

    public EvaluateConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        Require.present("checkpoint", checkpoint, "--checkpoint");
        if (!SPLITS.contains(split)) {
            throw new ConfigException("evaluate.split must be one of " + SPLITS + ", got '" + split + "'");
        }
        Require.atLeast("evaluate.calibrationBins", calibrationBins, 1);
    }

    public static final ConfigSchema<EvaluateConfig> SCHEMA = new ConfigSchema<>("evaluate", fields(),
            EvaluateConfig::from);

    private static List<ConfigField> fields() {
        List<ConfigField> f = new ArrayList<>(List.of(
                ConfigField.string("input", "",
                        "Labeled records: Parquet (a file or directory), JSON Lines, or a dataset directory written "
                                + "by anneal ingest (evaluate.split of it)."),
                ConfigField.string("output", "", "Directory for metrics.json and quarantine/."),
                ConfigField.string("checkpoint", "", "A fine-tuned model directory (anneal finetune's OUTPUT/model)."),
                ConfigField.string("spark.master", "",
                        "Spark master URL; empty = the one spark-submit set, else local[*]."),
                ConfigField.string("task.labelField", "",
                        "Name of the label column; empty = the one the checkpoint was fine-tuned with."),
                ConfigField.choice("evaluate.split", "test", SPLITS, "Of a dataset directory, the split to score."),
                ConfigField.integer("evaluate.calibrationBins", 15,
                        "Equal-width confidence bins of the expected calibration error (15 as in Guo et al. 2017).")));
        f.addAll(ScoringSettings.fields());
        return f;
    }

    private static EvaluateConfig from(ConfigValues v) {
        return new EvaluateConfig(v.string("input"), v.string("output"), v.string("checkpoint"),
                v.string("spark.master"), v.string("task.labelField"), v.string("evaluate.split"),
                v.integer("evaluate.calibrationBins"), ScoringSettings.from(v));
    }
}

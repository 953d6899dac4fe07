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
 * @param split            of a dataset directory, the split to evaluate; of a table, with {@code tableSplit}
 * @param tableSplit       of a Parquet or JSON Lines table, score only the records that fine-tuning's stable hash of
 *                         the text puts in {@code split} (false: every record)
 * @param validationFraction with {@code tableSplit}: the fine-tune's {@code split.validationFraction}
 * @param testFraction     with {@code tableSplit}: the fine-tune's {@code split.testFraction}
 * @param calibrationBins  equal-width confidence bins of the expected calibration error
 * @param scoring          how records are fed to the model
 */
public record EvaluateConfig(String input, String output, String checkpoint, String master, String labelField,
                             String split, boolean tableSplit, double validationFraction, double testFraction,
                             int calibrationBins, ScoringSettings scoring) {
    public static final List<String> SPLITS = List.of("train", "validation", "test");

    public EvaluateConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        Require.present("checkpoint", checkpoint, "--checkpoint");
        if (!SPLITS.contains(split)) {
            throw new ConfigException("evaluate.split must be one of " + SPLITS + ", got '" + split + "'");
        }
        Require.fraction("split.validationFraction", validationFraction);
        Require.fraction("split.testFraction", testFraction);
        if (validationFraction + testFraction >= 1) {
            throw new ConfigException("split.validationFraction + split.testFraction must be < 1, got "
                    + (validationFraction + testFraction));
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
                ConfigField.choice("evaluate.split", "test", SPLITS,
                        "Of a dataset directory, the split to score; of a table, with evaluate.tableSplit."),
                ConfigField.bool("evaluate.tableSplit", false,
                        "Of a Parquet or JSON Lines table, score only the records that anneal finetune's stable hash "
                                + "of the text puts in evaluate.split (give the fine-tune's split.* fractions); "
                                + "false = every record."),
                ConfigField.decimal("split.validationFraction", 0.15,
                        "With evaluate.tableSplit: the fine-tune's share of records in the validation split."),
                ConfigField.decimal("split.testFraction", 0.15,
                        "With evaluate.tableSplit: the fine-tune's share of records in the test split."),
                ConfigField.integer("evaluate.calibrationBins", 15,
                        "Equal-width confidence bins of the expected calibration error (15 as in Guo et al. 2017).")));
        f.addAll(ScoringSettings.fields());
        return f;
    }

    private static EvaluateConfig from(ConfigValues v) {
        return new EvaluateConfig(v.string("input"), v.string("output"), v.string("checkpoint"),
                v.string("spark.master"), v.string("task.labelField"), v.string("evaluate.split"),
                v.bool("evaluate.tableSplit"), v.decimal("split.validationFraction"), v.decimal("split.testFraction"),
                v.integer("evaluate.calibrationBins"), ScoringSettings.from(v));
    }
}

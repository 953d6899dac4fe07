package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The batch-scoring job: a fine-tuned checkpoint applied to a table on the executors, writing predictions and
 * probabilities as Parquet and the rows it cannot score to a quarantine.
 *
 * @param input      the table: Parquet (a file or directory) or JSON Lines
 * @param output     where {@code predictions/}, {@code quarantine/} and {@code summary.json} are written
 * @param checkpoint a fine-tuned model directory ({@code anneal finetune}'s {@code OUTPUT/model})
 * @param master     Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 * @param idField    the one input column kept next to the predictions; empty = every input column
 * @param scoring    how records are fed to the model
 */
public record PredictConfig(String input, String output, String checkpoint, String master, String idField,
                            ScoringSettings scoring) {
    public PredictConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        Require.present("checkpoint", checkpoint, "--checkpoint");
    }

    public static final ConfigSchema<PredictConfig> SCHEMA = new ConfigSchema<>("predict", fields(),
            PredictConfig::from);

    private static List<ConfigField> fields() {
        List<ConfigField> f = new ArrayList<>(List.of(
                ConfigField.string("input", "", "The table to score: Parquet (a file or directory) or JSON Lines."),
                ConfigField.string("output", "", "Directory for predictions/, quarantine/ and summary.json."),
                ConfigField.string("checkpoint", "", "A fine-tuned model directory (anneal finetune's OUTPUT/model)."),
                ConfigField.string("spark.master", "",
                        "Spark master URL; empty = the one spark-submit set, else local[*]."),
                ConfigField.string("predict.idField", "",
                        "The one input column written next to the predictions; empty = every input column.")));
        f.addAll(ScoringSettings.fields());
        return f;
    }

    private static PredictConfig from(ConfigValues v) {
        return new PredictConfig(v.string("input"), v.string("output"), v.string("checkpoint"),
                v.string("spark.master"), v.string("predict.idField"), ScoringSettings.from(v));
    }
}

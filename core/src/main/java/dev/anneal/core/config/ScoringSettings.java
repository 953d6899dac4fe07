package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * How evaluate and predict feed records to a fine-tuned model. Empty or zero values mean "as the checkpoint was
 * fine-tuned": the text field, the characters read and the decision threshold come from its manifest.
 *
 * @param textField name of the text column; empty = the checkpoint's {@code task.textField}
 * @param imageField name of the image column (one byte a pixel, row-major) for an image classifier
 * @param maxLength characters of each record the model reads; 0 = the checkpoint's {@code text.maxLength}
 * @param threshold probability at or above which a binary or multi-label output is called positive; 0 = the
 *                  checkpoint's {@code task.threshold}
 * @param batchSize records scored together on an executor
 */
public record ScoringSettings(String textField, String imageField, int maxLength, double threshold, int batchSize) {
    public ScoringSettings {
        Require.present("task.imageField", imageField, "--set task.imageField=NAME");
        Require.atLeast("text.maxLength", maxLength, 0);
        if (!(threshold >= 0 && threshold < 1)) {
            throw new ConfigException("task.threshold must be in (0, 1), or 0 for the checkpoint's, got "
                    + threshold);
        }
        Require.positive("scoring.batchSize", batchSize);
    }

    static List<ConfigField> fields() {
        return new ArrayList<>(List.of(
                ConfigField.string("task.textField", "",
                        "Name of the text column; empty = the one the checkpoint was fine-tuned with."),
                ConfigField.string("task.imageField", "image",
                        "Name of the image column of an image classifier's input: bytes, one a pixel, row-major "
                                + "(an image dataset's shard column)."),
                ConfigField.integer("text.maxLength", 0,
                        "Characters of each record the model reads (longer ones are cut, as in fine-tuning); "
                                + "0 = the checkpoint's."),
                ConfigField.decimal("task.threshold", 0.0,
                        "Probability at or above which a binary or multi-label output is called positive; "
                                + "0 = the checkpoint's."),
                ConfigField.integer("scoring.batchSize", 64, "Records scored together on an executor.")));
    }

    static ScoringSettings from(ConfigValues v) {
        return new ScoringSettings(v.string("task.textField"), v.string("task.imageField"), v.integer("text.maxLength"),
                v.decimal("task.threshold"), v.integer("scoring.batchSize"));
    }
}

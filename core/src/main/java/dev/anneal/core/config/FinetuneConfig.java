package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The fine-tuning job: a pretrained language model's encoder under a new task head (binary, multiclass, multi-label
 * or regression), trained on labeled text and measured on stable validation and test splits.
 *
 * @param input              labeled records: JSON Lines or Parquet with a text and a label column
 * @param output             where {@code model/} and {@code metrics.json} are written
 * @param checkpoint         a checkpoint directory, or a run directory meaning its latest checkpoint
 * @param master             Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 * @param seed               the one seed of every random source
 * @param textField          name of the text column
 * @param labelField         name of the label column: 0/1 (binary), a declared label (multiclass), a list of
 *                           declared labels (multilabel) or a number (regression)
 * @param maxLength          characters of each record the classifier reads
 * @param pooling            how the encoder's outputs over time become one vector: mean, max or last
 * @param freeze             layers whose weights stay as pretrained, with every layer that feeds them
 * @param threshold          probability above which a record is called positive
 * @param validationFraction share of records in the validation split
 * @param testFraction       share of records in the test split
 * @param trainExamples      labelled training records used, drawn from the train split stratified by class and
 *                           seeded; 0 = all of them
 * @param validationExamples validation records used, drawn from the validation split the same way; 0 = all of them
 * @param init               pretrained: the checkpoint's weights; random: the same network initialised from the
 *                           seed, the from-scratch baseline
 * @param training           how to train
 * @param finetune           the head, what trains when, schedule, regularization and early stopping
 */
public record FinetuneConfig(String input, String output, String checkpoint, String master, long seed,
                             String textField, String labelField, int maxLength, String pooling, List<String> freeze,
                             double threshold, double validationFraction, double testFraction,
                             int trainExamples, int validationExamples, String init, TrainingSettings training, FinetuneSettings finetune) {
    public static final List<String> POOLING = List.of("mean", "max", "last");
    public static final List<String> INITS = List.of("pretrained", "random");
    /** Fine-tuning's default learning rate: a tenth of pretraining's. */
    public static final double LEARNING_RATE = 0.0005;

    public FinetuneConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        Require.present("checkpoint", checkpoint, "--checkpoint");
        Require.present("task.textField", textField, "--set task.textField=NAME");
        Require.present("task.labelField", labelField, "--set task.labelField=NAME");
        Require.atLeast("text.maxLength", maxLength, 1);
        if (!POOLING.contains(pooling)) {
            throw new ConfigException("task.pooling must be one of " + POOLING + ", got '" + pooling + "'");
        }
        freeze = List.copyOf(freeze);
        if (!INITS.contains(init)) {
            throw new ConfigException("task.init must be one of " + INITS + ", got '" + init + "'");
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new ConfigException("task.threshold must be in (0, 1), got " + threshold);
        }
        Require.fraction("split.validationFraction", validationFraction);
        Require.fraction("split.testFraction", testFraction);
        if (validationFraction + testFraction >= 1) {
            throw new ConfigException("split.validationFraction + split.testFraction must be < 1, got "
                    + (validationFraction + testFraction));
        }
        Require.atLeast("split.trainExamples", trainExamples, 0);
        Require.atLeast("split.validationExamples", validationExamples, 0);
        if (!INITS.contains(init)) {
            throw new ConfigException("task.init must be one of " + INITS + ", got '" + init + "'");
        }
        if (finetune.accumulate() > 1 && training.engine().equals(TrainingSettings.PARAMETER_AVERAGING)
                && training.averagingFrequency() % finetune.accumulate() != 0) {
            throw new ConfigException("training.averagingFrequency (" + training.averagingFrequency()
                    + ") must be a multiple of training.accumulate (" + finetune.accumulate()
                    + "), so that parameters are averaged only between whole accumulated updates");
        }
        if (!finetune.earlyStopMetric().isEmpty() && validationFraction == 0) {
            throw new ConfigException("earlyStopping.metric needs a validation split: split.validationFraction is 0");
        }
    }

    public static final ConfigSchema<FinetuneConfig> SCHEMA = new ConfigSchema<>("finetune", fields(),
            FinetuneConfig::from);

    private static List<ConfigField> fields() {
        List<ConfigField> f = new ArrayList<>(List.of(
                ConfigField.string("input", "",
                        "Labeled records: JSON Lines (.jsonl/.json) or Parquet with a text and a 0/1 label column, or a "
                                + "labeled dataset directory written by anneal ingest (its own splits are used)."),
                ConfigField.string("output", "", "Directory for model/ and metrics.json."),
                ConfigField.string("checkpoint", "",
                        "Pretrained checkpoint: a checkpoint directory, or a run directory (its LATEST checkpoint)."),
                ConfigField.string("spark.master", "",
                        "Spark master URL; empty = the one spark-submit set, else local[*]."),
                ConfigField.longValue("seed", 42, "Seed of every random source (head initialisation, shuffles)."),
                ConfigField.string("task.textField", "text", "Name of the text column."),
                ConfigField.string("task.labelField", "label",
                        "Name of the label column: 0 or 1 (binary), one of task.labels (multiclass), a list of "
                                + "them (multilabel) or a number (regression)."),
                ConfigField.integer("text.maxLength", 256,
                        "Characters of each record the classifier reads (longer ones are cut, shorter ones masked)."),
                ConfigField.choice("task.pooling", "max", POOLING,
                        "How the encoder's outputs over time become one vector for the head."),
                ConfigField.list("task.freeze", List.of("embedding"),
                        "Layers kept as pretrained; freezing a layer also freezes every layer that feeds it."),
                ConfigField.decimal("task.threshold", 0.5, "Probability above which a record is called positive."),
                ConfigField.decimal("split.validationFraction", 0.15,
                        "Share of records in the validation split (by a stable hash of the text)."),
                ConfigField.decimal("split.testFraction", 0.15,
                        "Share of records in the test split (by a stable hash of the text)."),
                ConfigField.integer("split.trainExamples", 0,
                        "Labelled training records to use: this many from the train split, drawn per class in "
                                + "proportion to its share (each class at least one), seeded by seed; validation "
                                + "and test stay whole. 0 = the whole train split."),
                ConfigField.integer("split.validationExamples", 0,
                        "Validation records to use for early stopping and the per-epoch figures: this many from the "
                                + "validation split, drawn like split.trainExamples. A few-label fine-tune should "
                                + "not lean on thousands of validation labels, and scoring them is most of its "
                                + "time. 0 = the whole validation split."),
                ConfigField.choice("task.init", "pretrained", INITS,
                        "pretrained = start from the checkpoint's weights; random = the checkpoint's architecture (and "
                                + "vocabulary) with every weight initialised afresh from seed: the no-pretraining "
                                + "baseline.")));
        f.addAll(TrainingSettings.fields(6, 32, LEARNING_RATE, 5));
        f.replaceAll(c -> !c.key().equals("training.learningRate") ? c : ConfigField.decimal(c.key(), LEARNING_RATE,
                "Adam's learning rate; the default is a tenth of pretraining's (0.005), so that fine-tuning adjusts "
                        + "what pretraining learned rather than overwriting it; task.learningRates scales it per "
                        + "layer group (docs/FINETUNING.md)."));
        f.addAll(FinetuneSettings.fields());
        return f;
    }

    private static FinetuneConfig from(ConfigValues v) {
        return new FinetuneConfig(v.string("input"), v.string("output"), v.string("checkpoint"),
                v.string("spark.master"), v.longValue("seed"), v.string("task.textField"),
                v.string("task.labelField"), v.integer("text.maxLength"), v.string("task.pooling"),
                v.list("task.freeze"), v.decimal("task.threshold"), v.decimal("split.validationFraction"),
                v.decimal("split.testFraction"), v.integer("split.trainExamples"),
                v.integer("split.validationExamples"), v.string("task.init"),
                TrainingSettings.from(v), FinetuneSettings.from(v));
    }
}

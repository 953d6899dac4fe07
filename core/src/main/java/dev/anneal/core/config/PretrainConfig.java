package dev.anneal.core.config;

import dev.anneal.core.checkpoint.RetentionPolicy;

import java.util.ArrayList;
import java.util.List;

/**
 * The pretraining job: a character-level LSTM language model trained on a text corpus with Spark.
 *
 * @param input              text files (a file, directory or glob of .txt or .gz) or an ingested dataset
 *                           directory; any Hadoop FileSystem URI
 * @param output             the run directory; checkpoints go to {@code <output>/checkpoints/step-<n>/}
 * @param master             Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 * @param seed               the one seed of every random source: initialisation, shuffles, splits
 * @param windowLength       characters the model reads per training example
 * @param vocabularySize     distinct characters kept (most frequent first), besides padding and unknown
 * @param validationFraction share of the windows held out to measure the loss each epoch
 * @param embeddingSize      width of the character embedding
 * @param hiddenSize         units per LSTM layer
 * @param layers             LSTM layers
 * @param training           how to train
 * @param retention          which checkpoints of the run to keep
 * @param cadence            divergence checks, checkpoints and the step budget inside an epoch
 * @param image              the CNN and the labels trained on when the input is an image dataset
 * @param initCheckpoint     a checkpoint whose network and vocabulary a new run starts from (continued
 *                           pretraining on another corpus); empty = a network initialised from the seed
 * @param decay              the learning rate over the run: constant, or cosine or linear decay to 0 after the
 *                           warm-up
 * @param warmup             share of the run's updates over which the learning rate rises linearly from 0
 */
public record PretrainConfig(String input, String output, String master, long seed, int windowLength,
                             int vocabularySize, double validationFraction, int embeddingSize, int hiddenSize,
                             int layers, TrainingSettings training, RetentionPolicy retention,
                             RunCadence cadence, ImageModelSettings image, String initCheckpoint, String decay,
                             double warmup) {
    /** The learning-rate shapes a pretraining run can take. */
    public static final List<String> DECAYS = List.of("constant", "cosine", "linear");

    public PretrainConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        Require.atLeast("text.windowLength", windowLength, 2);
        Require.positive("text.vocabularySize", vocabularySize);
        Require.fraction("validationFraction", validationFraction);
        Require.positive("model.embeddingSize", embeddingSize);
        Require.positive("model.hiddenSize", hiddenSize);
        Require.positive("model.layers", layers);
        java.util.Objects.requireNonNull(retention, "retention");
        java.util.Objects.requireNonNull(cadence, "cadence");
        java.util.Objects.requireNonNull(image, "image");
        java.util.Objects.requireNonNull(initCheckpoint, "init.checkpoint");
        if (!DECAYS.contains(decay)) {
            throw new ConfigException("schedule.decay must be one of " + DECAYS + ", got '" + decay + "'");
        }
        Require.fraction("schedule.warmup", warmup);
    }

    /** Whether the learning rate changes over the run (anything but a constant rate without warm-up). */
    public boolean scheduled() {
        return !decay.equals("constant") || warmup > 0;
    }

    public static final ConfigSchema<PretrainConfig> SCHEMA = new ConfigSchema<>("pretrain", fields(),
            PretrainConfig::from);

    private static List<ConfigField> fields() {
        List<ConfigField> f = new ArrayList<>(List.of(
                ConfigField.string("input", "",
                        "Text corpus: a file, directory or glob of .txt or .gz files, or a dataset directory written by "
                                + "anneal ingest (it has a manifest.json); any Hadoop URI (hdfs://, file://)."),
                ConfigField.string("output", "",
                        "Run directory; checkpoints are written to <output>/checkpoints/step-<n>/."),
                ConfigField.string("spark.master", "",
                        "Spark master URL; empty = the one spark-submit set, else local[*]."),
                ConfigField.longValue("seed", 42, "Seed of every random source (initialisation, shuffles, splits)."),
                ConfigField.integer("text.windowLength", 64,
                        "Characters per training window; the model learns to predict each next character."),
                ConfigField.integer("text.vocabularySize", 160,
                        "Distinct characters kept, most frequent first; rarer ones map to <unk>."),
                ConfigField.decimal("validationFraction", 0.05,
                        "Share of windows held out (by a hash of their text) to measure the loss after each epoch; a "
                                + "dataset's own validation split is used instead."),
                ConfigField.integer("model.embeddingSize", 32, "Width of the character embedding."),
                ConfigField.integer("model.hiddenSize", 128, "Units per LSTM layer."),
                ConfigField.integer("model.layers", 1, "Number of LSTM layers.")));
        f.addAll(TrainingSettings.fields(3, 32, 0.005, 5));
        f.add(ConfigField.integer("checkpoint.keepLast", 5,
                "Checkpoints of the run kept, newest first (the one LATEST names always stays); 0 = all."));
        f.add(ConfigField.integer("checkpoint.keepEveryEpochs", 0,
                "Also keep every checkpoint whose epoch is a multiple of this; 0 = none."));
        f.addAll(RunCadence.fields());
        f.addAll(ImageModelSettings.fields());
        f.add(ConfigField.string("init.checkpoint", "",
                "Start a new run from this checkpoint (or run directory: its LATEST) instead of a fresh network: its "
                        + "weights and vocabulary, trained on this run's input at training.learningRate, step 0 "
                        + "(continued pretraining on another corpus, as ULMFiT's second stage). model.* must match "
                        + "it. Ignored when --output already holds checkpoints to resume. Empty = none."));
        f.add(ConfigField.choice("schedule.decay", "constant", DECAYS,
                "The learning rate over the run's training.epochs: constant, or cosine or linear decay from "
                        + "training.learningRate to 0 (after the warm-up). A resumed run follows the schedule of "
                        + "its current training.epochs from the step it reached."));
        f.add(ConfigField.decimal("schedule.warmup", 0.0,
                "Share of the run's updates over which the learning rate rises linearly from 0; 0 = none."));
        return f;
    }

    private static PretrainConfig from(ConfigValues v) {
        return new PretrainConfig(v.string("input"), v.string("output"), v.string("spark.master"), v.longValue("seed"),
                v.integer("text.windowLength"), v.integer("text.vocabularySize"), v.decimal("validationFraction"),
                v.integer("model.embeddingSize"), v.integer("model.hiddenSize"), v.integer("model.layers"),
                TrainingSettings.from(v), retention(v), RunCadence.from(v), ImageModelSettings.from(v),
                v.string("init.checkpoint"), v.string("schedule.decay"), v.decimal("schedule.warmup"));
    }

    private static RetentionPolicy retention(ConfigValues v) {
        Require.atLeast("checkpoint.keepLast", v.integer("checkpoint.keepLast"), 0);
        Require.atLeast("checkpoint.keepEveryEpochs", v.integer("checkpoint.keepEveryEpochs"), 0);
        return new RetentionPolicy(v.integer("checkpoint.keepLast"), v.integer("checkpoint.keepEveryEpochs"));
    }
}

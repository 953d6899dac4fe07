package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a fine-tune trains and how: the task head, which layers learn when, the learning-rate schedule and the
 * measures against overfitting. The keys live under {@code task.}, {@code schedule.}, {@code regularization.} and
 * {@code earlyStopping.}.
 *
 * @param task            binary, multiclass, multilabel or regression
 * @param labels          the declared label set of a multiclass or multi-label task, in output order
 * @param regressionLoss  mse or mae
 * @param freezeFirst     encoder layers, counted from the input, kept as pretrained (on top of {@code task.freeze})
 * @param unfreezeEvery   every this many epochs the topmost frozen encoder layer starts to learn; 0 = never
 * @param adapterSize     width of a bottleneck adapter after every recurrent, convolution and dense encoder layer;
 *                        0 = no adapters
 * @param learningRates   per-layer-group factors on the learning rate: {@code group=factor}, a group being
 *                        {@code encoder}, {@code adapters}, {@code head} or a layer name (which wins)
 * @param warmup          share of the training steps over which the learning rate rises linearly from 0
 * @param decay           after warm-up: constant, cosine, linear or step
 * @param stepEpochs      step decay: epochs between two drops
 * @param stepFactor      step decay: the factor of each drop
 * @param l2              L2 penalty coefficient on weights (added to the gradient)
 * @param weightDecay     decoupled weight decay coefficient on weights (scaled by the learning rate)
 * @param dropout         probability of dropping each pooled feature before the head
 * @param gradientClip    largest L2 norm of each layer's gradient; 0 = no clipping
 * @param accumulate      minibatches whose mean gradient makes one update on each worker
 * @param earlyStopMetric validation figure early stopping watches; empty = none
 * @param patience        epochs without improvement before training stops
 */
public record FinetuneSettings(String task, List<String> labels, String regressionLoss, int freezeFirst,
                               int unfreezeEvery, int adapterSize, List<String> learningRates, double warmup,
                               String decay, int stepEpochs, double stepFactor, double l2, double weightDecay,
                               double dropout, double gradientClip, int accumulate, String earlyStopMetric,
                               int patience) {
    public static final String BINARY = "binary";
    public static final String MULTICLASS = "multiclass";
    public static final String MULTILABEL = "multilabel";
    public static final String REGRESSION = "regression";
    public static final List<String> TASKS = List.of(BINARY, MULTICLASS, MULTILABEL, REGRESSION);
    public static final List<String> REGRESSION_LOSSES = List.of("mse", "mae");
    public static final List<String> DECAYS = List.of("constant", "cosine", "linear", "step");
    /** Validation figures early stopping may watch, and whether more is better. */
    public static final Map<String, Boolean> STOP_METRICS = Map.of("loss", false, "accuracy", true, "f1", true,
            "auc", true, "macro_f1", true, "micro_f1", true, "mae", false, "rmse", false);

    public FinetuneSettings {
        labels = List.copyOf(labels);
        learningRates = List.copyOf(learningRates);
        if (!TASKS.contains(task)) {
            throw new ConfigException("task.type must be one of " + TASKS + ", got '" + task + "'");
        }
        if ((task.equals(MULTICLASS) || task.equals(MULTILABEL)) && labels.size() < 2) {
            throw new ConfigException("task.labels must declare at least 2 labels for a " + task + " task, got "
                    + labels);
        }
        if (labels.stream().distinct().count() != labels.size()) {
            throw new ConfigException("task.labels must not repeat a label, got " + labels);
        }
        if (!REGRESSION_LOSSES.contains(regressionLoss)) {
            throw new ConfigException("task.loss must be one of " + REGRESSION_LOSSES + ", got '" + regressionLoss
                    + "'");
        }
        Require.atLeast("task.freezeFirst", freezeFirst, 0);
        Require.atLeast("task.unfreezeEvery", unfreezeEvery, 0);
        Require.atLeast("task.adapterSize", adapterSize, 0);
        learningRateFactors(learningRates);
        Require.fraction("schedule.warmup", warmup);
        if (!DECAYS.contains(decay)) {
            throw new ConfigException("schedule.decay must be one of " + DECAYS + ", got '" + decay + "'");
        }
        Require.positive("schedule.stepEpochs", stepEpochs);
        if (!(stepFactor > 0 && stepFactor <= 1)) {
            throw new ConfigException("schedule.stepFactor must be in (0, 1], got " + stepFactor);
        }
        Require.nonNegative("regularization.l2", l2);
        Require.nonNegative("regularization.weightDecay", weightDecay);
        Require.fraction("regularization.dropout", dropout);
        Require.nonNegative("training.gradientClip", gradientClip);
        Require.positive("training.accumulate", accumulate);
        if (!earlyStopMetric.isEmpty() && !STOP_METRICS.containsKey(earlyStopMetric)) {
            throw new ConfigException("earlyStopping.metric must be empty or one of "
                    + STOP_METRICS.keySet().stream().sorted().toList() + ", got '" + earlyStopMetric + "'");
        }
        if (!earlyStopMetric.isEmpty() && !stopMetrics(task).contains(earlyStopMetric)) {
            throw new ConfigException("earlyStopping.metric '" + earlyStopMetric + "' is not measured for a " + task
                    + " task; one of " + stopMetrics(task));
        }
        Require.positive("earlyStopping.patience", patience);
    }

    /** The validation figures a task reports, which early stopping may watch. */
    public static List<String> stopMetrics(String task) {
        return switch (task) {
            case BINARY -> List.of("loss", "accuracy", "f1", "auc");
            case REGRESSION -> List.of("loss", "mae", "rmse");
            default -> List.of("loss", "accuracy", "macro_f1", "micro_f1");
        };
    }

    /** The number of outputs the head has. */
    public int outputs() {
        return switch (task) {
            case MULTICLASS, MULTILABEL -> labels.size();
            default -> 1;
        };
    }

    /** {@code task.learningRates} parsed: group or layer name to factor, in the order given. */
    public Map<String, Double> learningRateFactors() {
        return learningRateFactors(learningRates);
    }

    private static Map<String, Double> learningRateFactors(List<String> entries) {
        Map<String, Double> factors = new LinkedHashMap<>();
        for (String entry : entries) {
            int eq = entry.indexOf('=');
            double factor;
            try {
                factor = eq > 0 ? Double.parseDouble(entry.substring(eq + 1).strip()) : Double.NaN;
            } catch (NumberFormatException e) {
                factor = Double.NaN;
            }
            if (!(factor >= 0) || Double.isInfinite(factor)) {
                throw new ConfigException("task.learningRates entries must be group=factor with a factor >= 0 "
                        + "(groups: encoder, adapters, head, or a layer name), got '" + entry + "'");
            }
            factors.put(entry.substring(0, eq).strip(), factor);
        }
        return factors;
    }

    static List<ConfigField> fields() {
        return new ArrayList<>(List.of(
                ConfigField.choice("task.type", BINARY, TASKS,
                        "The head: binary (sigmoid + cross-entropy), multiclass (softmax + cross-entropy), "
                                + "multilabel (a sigmoid + cross-entropy per label) or regression (identity output)."),
                ConfigField.list("task.labels", List.of(),
                        "Declared labels of a multiclass or multilabel task, in output order; records must use "
                                + "only these."),
                ConfigField.choice("task.loss", "mse", REGRESSION_LOSSES,
                        "Regression loss: mean squared or mean absolute error."),
                ConfigField.integer("task.freezeFirst", 0,
                        "Encoder layers, counted from the input, kept as pretrained (added to task.freeze)."),
                ConfigField.integer("task.unfreezeEvery", 0,
                        "Gradual unfreezing: every this many epochs the topmost frozen encoder layer starts to "
                                + "learn; 0 = the frozen layers stay frozen."),
                ConfigField.integer("task.adapterSize", 0,
                        "Parameter-efficient fine-tuning: a bottleneck adapter of this width after every "
                                + "recurrent encoder layer (text) or every convolution and the dense layer (CNN), "
                                + "the encoder frozen; only adapters and head train. 0 = none."),
                ConfigField.list("task.learningRates", List.of(),
                        "Per-layer-group factors on training.learningRate, group=factor; groups encoder, adapters, "
                                + "head or a layer name; a factor of 0 holds a group still. [head=20] trains a new "
                                + "head 20x faster than the pretrained layers (docs/FINETUNING.md)."),
                ConfigField.decimal("schedule.warmup", 0.0,
                        "Share of the training steps over which the learning rate rises linearly from 0."),
                ConfigField.choice("schedule.decay", "constant", DECAYS,
                        "Learning rate after warm-up: constant, cosine or linear decay to 0, or step decay."),
                ConfigField.integer("schedule.stepEpochs", 1, "Step decay: epochs between two drops."),
                ConfigField.decimal("schedule.stepFactor", 0.5, "Step decay: the factor of each drop."),
                ConfigField.decimal("regularization.l2", 0.0, "L2 penalty on weights, added to the gradient."),
                ConfigField.decimal("regularization.weightDecay", 0.0,
                        "Decoupled weight decay on weights, scaled by the learning rate."),
                ConfigField.decimal("regularization.dropout", 0.0,
                        "Probability of dropping each pooled feature before the head while training."),
                ConfigField.decimal("training.gradientClip", 0.0,
                        "Largest L2 norm of each layer's gradient; larger ones are scaled down. 0 = off."),
                ConfigField.integer("training.accumulate", 1,
                        "Minibatches whose mean gradient makes one update on each worker: an effective batch of "
                                + "training.batchSize x this. training.averagingFrequency must be a multiple."),
                ConfigField.string("earlyStopping.metric", "",
                        "Validation figure to stop on (loss, accuracy, f1, auc, macro_f1, micro_f1, mae, rmse); "
                                + "the best epoch's weights are kept. Empty = train every epoch."),
                ConfigField.integer("earlyStopping.patience", 2,
                        "Epochs without improvement of earlyStopping.metric before training stops.")));
    }

    static FinetuneSettings from(ConfigValues v) {
        return new FinetuneSettings(v.string("task.type"), v.list("task.labels"), v.string("task.loss"),
                v.integer("task.freezeFirst"), v.integer("task.unfreezeEvery"), v.integer("task.adapterSize"),
                v.list("task.learningRates"), v.decimal("schedule.warmup"), v.string("schedule.decay"),
                v.integer("schedule.stepEpochs"), v.decimal("schedule.stepFactor"), v.decimal("regularization.l2"),
                v.decimal("regularization.weightDecay"), v.decimal("regularization.dropout"),
                v.decimal("training.gradientClip"), v.integer("training.accumulate"),
                v.string("earlyStopping.metric"), v.integer("earlyStopping.patience"));
    }

    /** Plain binary fine-tuning: constant learning rate, no regularization, no early stopping. */
    public static FinetuneSettings binaryDefaults() {
        return new FinetuneSettings(BINARY, List.of(), "mse", 0, 0, 0, List.of(), 0.0, "constant", 1, 0.5, 0, 0, 0,
                0, 1, "", 2);
    }
}

package dev.anneal.jobs.score;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.config.ScoringSettings;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.util.List;
import java.util.Map;

/**
 * A verified fine-tuned checkpoint with what scoring needs from its manifest: the task, the label names in output
 * order, the decision threshold, the input field (the text column, or {@code task.imageField} for an image
 * classifier), the label field and the characters the model reads, each taken from the config unless the config
 * leaves it empty.
 */
public record FineTunedModel(String dir, Checkpoint checkpoint, String task, List<String> labels, double threshold,
                             String inputField, String labelField, int maxLength) {

    /** Reads and verifies the checkpoint (exit 3 when it is damaged or not a fine-tuned model); no Spark. */
    public static FineTunedModel load(String location, ScoringSettings settings, String labelField,
                                      Configuration hadoop) {
        CheckpointStore store = new CheckpointStore(hadoop);
        Path dir = store.resolve(new Path(location));
        Checkpoint c = store.read(dir, false);
        Map<String, Object> network = c.info().network();
        Object task = network.get("task");
        if (!"finetune".equals(c.info().job()) || !(task instanceof String t) || !FinetuneSettings.TASKS.contains(t)) {
            throw new CheckpointException(dir + ": a " + c.info().job() + " checkpoint of a " + c.info().networkKind()
                    + ", not a fine-tuned model; give anneal finetune's OUTPUT/model");
        }
        InputKinds.require(dir.toString(), c.info().networkKind());
        Map<String, Object> trained = c.info().config();
        List<String> labels = network.get("labels") instanceof List<?> l ? l.stream().map(String::valueOf).toList()
                : List.of();
        if (t.equals(FinetuneSettings.BINARY) && labels.size() != 2) {
            labels = List.of("0", "1");
        }
        if (t.equals(FinetuneSettings.REGRESSION)) {
            labels = List.of("value");
        }
        if (labels.size() < 2 && !t.equals(FinetuneSettings.REGRESSION)) {
            throw new CheckpointException(dir + ": the manifest names labels " + labels + " for a " + t + " head");
        }
        double threshold = settings.threshold() > 0 ? settings.threshold()
                : trained.get("threshold") instanceof Number n ? n.doubleValue() : 0.5;
        int maxLength = settings.maxLength() > 0 ? settings.maxLength()
                : trained.get("maxLength") instanceof Number n ? n.intValue() : 256;
        String inputField = c.info().networkKind().equals(InputKinds.IMAGE_CLASSIFIER) ? settings.imageField()
                : orDefault(settings.textField(), trained.get("textField"), "text");
        return new FineTunedModel(dir.toString(), c, t, labels, threshold, inputField,
                orDefault(labelField, trained.get("labelField"), "label"), maxLength);
    }

    private static String orDefault(String given, Object trained, String fallback) {
        return !given.isEmpty() ? given : trained instanceof String s && !s.isEmpty() ? s : fallback;
    }

    public String networkKind() {
        return checkpoint.info().networkKind();
    }

    /** The images an image classifier reads: {@code rows}, {@code cols}, {@code channels}; null for text. */
    public Map<?, ?> image() {
        return checkpoint.info().network().get("image") instanceof Map<?, ?> m ? m : null;
    }

    /** The head's width: 1 for binary and regression, the label count otherwise. */
    public int outputs() {
        return task.equals(FinetuneSettings.MULTICLASS) || task.equals(FinetuneSettings.MULTILABEL)
                ? labels.size() : 1;
    }
}

package dev.anneal.jobs.score;

import dev.anneal.core.InputException;
import dev.anneal.core.config.FinetuneSettings;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The columns a head's output becomes: {@code prediction} (0/1 for binary, the label for multiclass, the list of
 * labels at or above the threshold for multi-label, the value for regression), {@code probability} (of label 1, or of
 * the predicted class) and, for multiclass and multi-label, {@code probability_<label>} per label.
 */
public final class Predictions implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String task;
    private final List<String> labels;
    private final double threshold;

    public Predictions(String task, List<String> labels, double threshold) {
        this.task = task;
        this.labels = List.copyOf(labels);
        this.threshold = threshold;
    }

    private boolean perLabel() {
        return task.equals(FinetuneSettings.MULTICLASS) || task.equals(FinetuneSettings.MULTILABEL);
    }

    /** The added columns; an error when one collides with a kept input column. */
    public List<StructField> fields(List<String> kept, String input) {
        List<StructField> f = new ArrayList<>();
        switch (task) {
            case FinetuneSettings.BINARY -> {
                f.add(DataTypes.createStructField("prediction", DataTypes.IntegerType, false));
                f.add(DataTypes.createStructField("probability", DataTypes.DoubleType, false));
            }
            case FinetuneSettings.MULTICLASS -> {
                f.add(DataTypes.createStructField("prediction", DataTypes.StringType, false));
                f.add(DataTypes.createStructField("probability", DataTypes.DoubleType, false));
            }
            case FinetuneSettings.MULTILABEL -> f.add(DataTypes.createStructField("prediction",
                    DataTypes.createArrayType(DataTypes.StringType, false), false));
            default -> f.add(DataTypes.createStructField("prediction", DataTypes.DoubleType, false));
        }
        if (perLabel()) {
            for (String label : labels) {
                f.add(DataTypes.createStructField(column(label), DataTypes.DoubleType, false));
            }
        }
        Set<String> names = new HashSet<>(kept);
        for (StructField s : f) {
            if (!names.add(s.name())) {
                throw new InputException(input + ": column '" + s.name() + "' would be written twice (an input "
                        + "column or a label of that name); rename it, or keep one column with predict.idField");
            }
        }
        return f;
    }

    /** The values of the added columns for one output of the head. */
    public List<Object> values(float[] out) {
        List<Object> v = new ArrayList<>();
        switch (task) {
            case FinetuneSettings.BINARY -> {
                v.add(out[0] >= threshold ? 1 : 0);
                v.add((double) out[0]);
            }
            case FinetuneSettings.MULTICLASS -> {
                int best = 0;
                for (int i = 1; i < out.length; i++) {
                    best = out[i] > out[best] ? i : best;
                }
                v.add(labels.get(best));
                v.add((double) out[best]);
            }
            case FinetuneSettings.MULTILABEL -> {
                List<String> on = new ArrayList<>();
                for (int i = 0; i < out.length; i++) {
                    if (out[i] >= threshold) {
                        on.add(labels.get(i));
                    }
                }
                v.add(scala.collection.JavaConverters.asScalaBuffer(on).toSeq());
            }
            default -> v.add((double) out[0]);
        }
        if (perLabel()) {
            for (float p : out) {
                v.add((double) p);
            }
        }
        return v;
    }

    /** The column of a label's probability: {@code probability_} and the label, other characters as {@code _}. */
    public static String column(String label) {
        return "probability_" + label.replaceAll("[^A-Za-z0-9_]", "_");
    }

    /** The schema of the predictions table. */
    public static StructType schema(StructType input, List<String> kept, List<StructField> added) {
        StructType s = new StructType();
        for (String k : kept) {
            s = s.add(input.apply(k));
        }
        for (StructField f : added) {
            s = s.add(f);
        }
        return s;
    }
}

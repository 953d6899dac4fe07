package dev.anneal.jobs.data;

import dev.anneal.core.InputException;
import dev.anneal.core.config.FinetuneSettings;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Reads the labeled records of a multiclass, multi-label or regression task from JSON Lines or Parquet: the label is
 * one of {@code task.labels}, a list of them, or a number. Every record is checked; a bad one fails the read, naming
 * the first and how many there are. Binary tasks read through {@link LabeledTextSource}.
 */
public final class TaskRecordSource {
    private static final String CORRUPT = "_corrupt_record";

    private TaskRecordSource() {
    }

    public static JavaRDD<TaskRecord> read(SparkSession spark, String input, String textField, String labelField,
                                           boolean parquet, FinetuneSettings task) {
        if (task.task().equals(FinetuneSettings.BINARY)) {
            return LabeledTextSource.read(spark, input, textField, labelField, parquet)
                    .map(r -> new TaskRecord(r.text(), new float[] {r.label()}));
        }
        Dataset<Row> df = parquet
                ? spark.read().parquet(input)
                : spark.read().option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT).json(input);
        List<String> columns = Arrays.asList(df.columns());
        for (String field : new String[] {textField, labelField}) {
            if (!columns.contains(field)) {
                throw new InputException(input + ": no field '" + field + "' in its records; fields: "
                        + columns.stream().filter(c -> !c.equals(CORRUPT)).toList());
            }
        }
        boolean corrupt = columns.contains(CORRUPT);
        Dataset<Row> selected = corrupt
                ? df.cache().select(col(textField), col(labelField), col(CORRUPT))
                : df.select(col(textField), col(labelField));
        String kind = task.task();
        List<String> labels = task.labels();
        JavaRDD<Row> rows = selected.javaRDD();
        JavaRDD<String> problems = rows.map(r -> problem(r, kind, labels, corrupt, labelField))
                .filter(p -> p != null);
        long bad = problems.count();
        if (bad > 0) {
            throw new InputException(input + ": " + bad + " record(s) without valid '" + textField + "' and '"
                    + labelField + "' for a " + kind + " task" + (labels.isEmpty() ? "" : " with labels " + labels)
                    + "; the first: " + problems.first());
        }
        return rows.map(r -> new TaskRecord(r.get(0).toString(), target(r.get(1), kind, labels)));
    }

    /** What is wrong with a row, or {@code null}. */
    static String problem(Row r, String kind, List<String> labels, boolean corrupt, String labelField) {
        if (corrupt && r.get(2) != null) {
            return "not valid JSON: " + excerpt(r.get(2).toString());
        }
        Object text = r.get(0);
        Object label = r.get(1);
        String where = labelField + "=" + label + ", text=" + (text == null ? "null" : '"' + excerpt(text.toString())
                + '"');
        if (text == null || text.toString().isBlank()) {
            return "blank text: " + where;
        }
        try {
            target(label, kind, labels);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage() + ": " + where;
        }
    }

    /** The head's target row for a label of a task's kind, or IllegalArgumentException saying what is wrong. */
    public static float[] target(Object label, String kind, List<String> labels) {
        if (label == null) {
            throw new IllegalArgumentException("no label");
        }
        switch (kind) {
            case FinetuneSettings.BINARY -> {
                double v;
                try {
                    v = label instanceof Number n ? n.doubleValue() : Double.parseDouble(label.toString());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("label '" + label + "' is not 0 or 1");
                }
                if (v != 0 && v != 1) {
                    throw new IllegalArgumentException("label '" + label + "' is not 0 or 1");
                }
                return new float[] {(float) v};
            }
            case FinetuneSettings.REGRESSION -> {
                double v;
                try {
                    v = label instanceof Number n ? n.doubleValue() : Double.parseDouble(label.toString());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("label is not a number");
                }
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("label is not finite");
                }
                return new float[] {(float) v};
            }
            case FinetuneSettings.MULTICLASS -> {
                int i = labels.indexOf(label.toString());
                if (i < 0) {
                    throw new IllegalArgumentException("label '" + label + "' is not one of task.labels");
                }
                float[] t = new float[labels.size()];
                t[i] = 1;
                return t;
            }
            default -> {
                List<?> values;
                if (label instanceof scala.collection.Seq<?> seq) {
                    values = scala.collection.JavaConverters.seqAsJavaList(seq);
                } else if (label instanceof List<?> list) {
                    values = list;
                } else {
                    throw new IllegalArgumentException("label is not a list");
                }
                float[] t = new float[labels.size()];
                for (Object v : values) {
                    int i = v == null ? -1 : labels.indexOf(v.toString());
                    if (i < 0) {
                        throw new IllegalArgumentException("label '" + v + "' is not one of task.labels");
                    }
                    t[i] = 1;
                }
                return t;
            }
        }
    }

    private static String excerpt(String s) {
        String oneLine = s.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 80 ? oneLine : oneLine.substring(0, 77) + "...";
    }
}

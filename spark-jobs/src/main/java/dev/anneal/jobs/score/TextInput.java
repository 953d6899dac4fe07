package dev.anneal.jobs.score;

import dev.anneal.core.task.ClassificationBatches;
import dev.anneal.core.text.CharVocabulary;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * Text records for a text classifier: one string column, encoded with the checkpoint's vocabulary and cut at the
 * characters the model reads, as fine-tuning did. A missing, non-string or blank value cannot be scored; a long one
 * is cut, not refused, since that is what the model was trained on.
 */
public final class TextInput implements InputKind {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final int index;
    private final CharVocabulary vocabulary;
    private final int maxLength;

    /** @param index the position of {@code field} in the rows */
    public TextInput(String field, int index, CharVocabulary vocabulary, int maxLength) {
        this.field = field;
        this.index = index;
        this.vocabulary = vocabulary;
        this.maxLength = maxLength;
    }

    @Override
    public String problem(Row row) {
        Object v = row.get(index);
        if (v == null) {
            return field + " is missing";
        }
        if (!(v instanceof String s)) {
            return field + " is not a string but " + v.getClass().getSimpleName();
        }
        return s.isBlank() ? field + " is empty" : null;
    }

    @Override
    public Features features(List<Row> rows) {
        int[][] tokens = new int[rows.size()][];
        for (int i = 0; i < tokens.length; i++) {
            String text = rows.get(i).getString(index);
            int end = text.offsetByCodePoints(0, Math.min(maxLength, text.codePointCount(0, text.length())));
            tokens[i] = vocabulary.encode(text.substring(0, end));
        }
        DataSet ds = ClassificationBatches.binary(tokens, new int[tokens.length], maxLength);
        return new Features(new INDArray[] {ds.getFeatures()}, new INDArray[] {ds.getFeaturesMaskArray()});
    }

    /** For the job's log line. */
    @Override
    public String toString() {
        return "text field " + field + ", " + maxLength + " characters";
    }
}

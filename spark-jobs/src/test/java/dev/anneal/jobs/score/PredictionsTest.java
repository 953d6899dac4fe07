package dev.anneal.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.InputException;
import java.util.List;
import org.apache.spark.sql.types.StructField;
import org.junit.jupiter.api.Test;
import scala.collection.JavaConverters;
import scala.collection.Seq;

/** The columns each head's output becomes, and the names that would clash. */
class PredictionsTest {
    private static List<String> names(List<StructField> fields) {
        return fields.stream().map(StructField::name).toList();
    }

    @Test
    void eachTaskWritesItsPredictionAndProbabilities() {
        Predictions binary = new Predictions("binary", List.of("0", "1"), 0.75);
        assertEquals(List.of("prediction", "probability"), names(binary.fields(List.of("id"), "t")));
        assertEquals(List.of(0, 0.6499999761581421), binary.values(new float[] {0.65f}), "below the threshold");
        assertEquals(1, binary.values(new float[] {0.75f}).get(0), "at the threshold is positive");

        Predictions multiclass = new Predictions("multiclass", List.of("a", "b c", "d"), 0.5);
        assertEquals(List.of("prediction", "probability", "probability_a", "probability_b_c", "probability_d"),
                names(multiclass.fields(List.of("id"), "t")));
        assertEquals(List.of("b c", 0.5, 0.25, 0.5, 0.25), multiclass.values(new float[] {0.25f, 0.5f, 0.25f}));

        Predictions multilabel = new Predictions("multilabel", List.of("x", "y", "z"), 0.5);
        List<Object> v = multilabel.values(new float[] {0.9f, 0.1f, 0.5f});
        assertEquals(List.of("x", "z"), JavaConverters.seqAsJavaList((Seq<?>) v.get(0)));
        assertEquals(4, v.size());

        Predictions regression = new Predictions("regression", List.of("value"), 0.5);
        assertEquals(List.of("prediction"), names(regression.fields(List.of("id"), "t")));
        assertEquals(List.of(2.5), regression.values(new float[] {2.5f}));
    }

    @Test
    void aKeptColumnNamedLikeAnAddedOneIsRefused() {
        InputException e = assertThrows(InputException.class, () -> new Predictions("binary", List.of("0", "1"),
                0.5).fields(List.of("id", "prediction"), "table.parquet"));
        assertTrue(e.getMessage().contains("table.parquet") && e.getMessage().contains("'prediction'")
                && e.getMessage().contains("predict.idField"), e.getMessage());
    }
}

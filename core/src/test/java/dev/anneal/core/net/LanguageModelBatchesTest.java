package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

class LanguageModelBatchesTest {

    @Test
    void shiftsWindowsIntoInputsAndOneHotNextTokens() {
        DataSet batch = LanguageModelBatches.languageModelBatch(new int[][] {{1, 2, 3, 0}, {3, 3, 0, 2}}, 4);

        INDArray features = batch.getFeatures();
        INDArray labels = batch.getLabels();
        assertEquals(DataType.FLOAT, features.dataType());
        assertEquals(DataType.FLOAT, labels.dataType());
        assertArrayEquals(new long[] {2, 1, 3}, features.shape());
        assertArrayEquals(new long[] {2, 4, 3}, labels.shape());
        assertNull(batch.getFeaturesMaskArray());
        assertNull(batch.getLabelsMaskArray());

        int[][] inputs = {{1, 2, 3}, {3, 3, 0}};
        int[][] targets = {{2, 3, 0}, {3, 0, 2}};
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < 3; t++) {
                assertEquals(inputs[b][t], features.getDouble(b, 0, t));
                for (int v = 0; v < 4; v++) {
                    assertEquals(v == targets[b][t] ? 1.0 : 0.0, labels.getDouble(b, v, t), b + "," + v + "," + t);
                }
            }
        }
    }

    @Test
    void padsShorterWindowsAndMasksThePadding() {
        DataSet batch = LanguageModelBatches.languageModelBatch(new int[][] {{1, 2}, {3, 1, 0, 2}}, 4);

        assertArrayEquals(new long[] {2, 1, 3}, batch.getFeatures().shape());
        INDArray mask = batch.getFeaturesMaskArray();
        assertArrayEquals(new long[] {2, 3}, mask.shape());
        assertArrayEquals(new double[] {1, 0, 0}, mask.getRow(0).toDoubleVector());
        assertArrayEquals(new double[] {1, 1, 1}, mask.getRow(1).toDoubleVector());
        assertEquals(mask, batch.getLabelsMaskArray());
        // Padded steps have no target at all, so window 0 holds a single one-hot label.
        assertEquals(1.0, batch.getLabels().slice(0).sumNumber().doubleValue());
        assertEquals(3.0, batch.getLabels().slice(1).sumNumber().doubleValue());
    }

    @Test
    void rejectsBadWindows() {
        assertThrows(IllegalArgumentException.class, () -> LanguageModelBatches.languageModelBatch(new int[0][], 4));
        IllegalArgumentException shortWindow = assertThrows(IllegalArgumentException.class,
                () -> LanguageModelBatches.languageModelBatch(new int[][] {{1, 2}, {3}}, 4));
        assertEquals("windows[1] must hold at least 2 tokens, got 1", shortWindow.getMessage());
        IllegalArgumentException outOfRange = assertThrows(IllegalArgumentException.class,
                () -> LanguageModelBatches.languageModelBatch(new int[][] {{1, 4}}, 4));
        assertEquals("windows[0][1] must be in [0, 4), got 4", outOfRange.getMessage());
    }
}

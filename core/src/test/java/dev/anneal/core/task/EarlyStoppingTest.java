package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class EarlyStoppingTest {

    @Test
    void stopsAfterPatienceEpochsWithoutImprovementAndKeepsTheBestWeights() {
        EarlyStopping stop = new EarlyStopping("f1", true, 2);
        INDArray params = Nd4j.create(new double[] {1, 2});

        assertFalse(stop.record(1, 0.5, params));
        params.assign(7);
        assertFalse(stop.record(2, 0.7, params));
        params.assign(9);
        assertFalse(stop.record(3, 0.6, params), "one epoch without improvement, patience 2");
        assertTrue(stop.record(4, 0.7, params), "equal is not better");

        assertEquals(2, stop.bestEpoch());
        assertEquals(0.7, stop.best());
        assertEquals(Nd4j.create(new double[] {7, 7}), stop.bestParams(), "a copy, not the live array");
    }

    @Test
    void lowerIsBetterForALossAndNaNNeverImproves() {
        EarlyStopping stop = new EarlyStopping("loss", false, 1);
        INDArray p = Nd4j.zeros(1);
        assertFalse(stop.record(1, 0.9, p));
        assertFalse(stop.record(2, 0.4, p));
        assertTrue(stop.record(3, Double.NaN, p));
        assertEquals(2, stop.bestEpoch());
    }
}

package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WarmupScheduleTest {

    @Test
    void warmUpRisesLinearlyToTheBaseRate() {
        WarmupSchedule s = new WarmupSchedule(0.01, 4, 20, "constant", 1, 1);
        assertEquals(0.0025, s.valueAt(0, 0), 1e-12);
        assertEquals(0.005, s.valueAt(1, 0), 1e-12);
        assertEquals(0.01, s.valueAt(3, 0), 1e-12);
        assertEquals(0.01, s.valueAt(19, 3), 1e-12);
    }

    @Test
    void cosineDecayFallsFromTheBaseRateToZero() {
        WarmupSchedule s = new WarmupSchedule(1.0, 10, 110, "cosine", 1, 1);
        assertEquals(1.0, s.valueAt(10, 0), 1e-12);
        assertEquals(0.5, s.valueAt(60, 0), 1e-12, "half way: ½(1 + cos π/2)");
        assertEquals(0.0, s.valueAt(110, 0), 1e-12);
        assertEquals(0.0, s.valueAt(500, 0), 1e-12, "past the end it stays at 0");
    }

    @Test
    void linearDecayFallsEvenly() {
        WarmupSchedule s = new WarmupSchedule(2.0, 0, 100, "linear", 1, 1);
        assertEquals(2.0, s.valueAt(0, 0), 1e-12);
        assertEquals(1.5, s.valueAt(25, 0), 1e-12);
        assertEquals(0.0, s.valueAt(100, 0), 1e-12);
    }

    @Test
    void stepDecayDropsByTheFactorEveryStepSteps() {
        WarmupSchedule s = new WarmupSchedule(1.0, 5, 100, "step", 10, 0.5);
        assertEquals(1.0, s.valueAt(14, 0), 1e-12);
        assertEquals(0.5, s.valueAt(15, 0), 1e-12);
        assertEquals(0.25, s.valueAt(34, 0), 1e-12);
    }

    @Test
    void scalingMultipliesEveryValue() {
        WarmupSchedule s = new WarmupSchedule(1.0, 4, 40, "cosine", 1, 1);
        for (int i = 0; i < 40; i += 7) {
            assertEquals(0.1 * s.valueAt(i, 0), s.scaled(0.1).valueAt(i, 0), 1e-12);
        }
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new WarmupSchedule(1, 0, 0, "cosine", 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WarmupSchedule(1, 0, 10, "exp", 1, 1));
    }
}

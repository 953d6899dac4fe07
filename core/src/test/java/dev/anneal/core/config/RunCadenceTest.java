package dev.anneal.core.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunCadenceTest {

    @Test
    void perEpochIsOnePass() {
        assertArrayEquals(new long[] {36}, RunCadence.perEpoch().passEnds(0, 0, 36, 36));
    }

    @Test
    void passesEndWhereACheckpointOrADivergenceCheckIsDueCountedInRunSteps() {
        RunCadence c = new RunCadence(10, 0, 4, 0);
        // The epoch starts at run step 36: checks at steps 40, 44, 48, ...; checkpoints at 40, 50, 60.
        assertArrayEquals(new long[] {4, 8, 12, 14, 16, 20, 24, 28, 30}, c.passEnds(36, 0, 30, 30));
        assertTrue(c.checkpointDue(50));
        assertFalse(c.checkpointDue(44));
    }

    @Test
    void aResumedEpochKeepsTheSamePassEnds() {
        RunCadence c = new RunCadence(5, 0, 0, 0);
        assertArrayEquals(new long[] {15, 20, 25, 30, 35, 36}, c.passEnds(0, 13, 36, 36));
        assertArrayEquals(new long[] {4, 9}, c.passEnds(36, 0, 36, 9));
    }

    @Test
    void nothingLeftIsNoPass() {
        assertEquals(0, new RunCadence(5, 0, 0, 0).passEnds(0, 36, 36, 36).length);
        assertThrows(IllegalArgumentException.class, () -> RunCadence.perEpoch().passEnds(0, 5, 4, 4));
    }

    @Test
    void keysAreValidated() {
        ConfigException e = assertThrows(ConfigException.class, () -> PretrainConfig.SCHEMA.load(null,
                List.of("input=x", "output=y", "training.divergenceCheckSteps=-1")));
        assertTrue(e.getMessage().contains("training.divergenceCheckSteps"), e.getMessage());
        PretrainConfig ok = PretrainConfig.SCHEMA.load(null, List.of("input=x", "output=y",
                "checkpoint.everySteps=100", "checkpoint.everyMinutes=30", "training.stepsPerRun=1000"));
        assertEquals(new RunCadence(100, 30, 200, 1000), ok.cadence());
    }
}

package dev.anneal.jobs;

import dev.anneal.core.DivergenceException;
import dev.anneal.core.net.LstmLanguageModelSpec;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NaN or Inf in the loss or the parameters stops a run with exit code 4 before a checkpoint is written. */
class DivergenceGuardTest {
    private final ComputationGraph graph = new LstmLanguageModelSpec(5, 3, 4, 1).build(1, new Adam(0.01),
            DataType.FLOAT);

    @Test
    void finiteLossAndParametersPass() {
        assertDoesNotThrow(() -> DivergenceGuard.check(graph, 1.5, "in epoch 1"));
    }

    @Test
    void nanLossStopsTheRun() {
        DivergenceException e = assertThrows(DivergenceException.class,
                () -> DivergenceGuard.check(graph, Double.NaN, "in epoch 2"));
        assertEquals(4, e.exitCode());
        assertTrue(e.getMessage().contains("in epoch 2") && e.getMessage().contains("NaN"), e.getMessage());
    }

    @Test
    void infiniteParameterStopsTheRun() {
        graph.params().putScalar(3, Float.POSITIVE_INFINITY);
        DivergenceException e = assertThrows(DivergenceException.class,
                () -> DivergenceGuard.check(graph, 0.7, "in epoch 1"));
        assertTrue(e.getMessage().contains("parameters"), e.getMessage());
    }
}

package dev.anneal.jobs.engine;

import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** What a local-sgd round copies out of and into a worker network: every element, in order, whatever the layout. */
class LocalSgdStateTest {

    @Test
    void copiesOutEveryElementOfPlainViewedAndStridedVectors() {
        INDArray matrix = Nd4j.rand(DataType.FLOAT, 8, 50);
        INDArray flat = matrix.reshape(1, 400);
        INDArray rowInterval = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(120, 330));
        INDArray column = matrix.getColumn(7);

        for (INDArray vector : List.of(flat, rowInterval, column, matrix.getRow(3))) {
            assertArrayEquals(vector.toFloatVector(), LocalSgdRound.State.floats(vector), vector.shapeInfoToString());
        }
    }

    @Test
    void buildsArraysOfTheGivenShapeFromValues() {
        float[] values = Nd4j.rand(DataType.FLOAT, 1, 300).toFloatVector();

        INDArray out = LocalSgdRound.State.array(values, new long[] {1, 300});

        assertArrayEquals(new long[] {1, 300}, out.shape());
        assertArrayEquals(values, out.toFloatVector());
    }

    @Test
    void aStateAppliedToAnotherNetworkGivesItTheSameParametersStateAndStep() {
        MlpSpec spec = new MlpSpec(6, List.of(5), 3, Loss.SOFTMAX_CROSS_ENTROPY);
        ComputationGraph trained = spec.build(1, new Adam(1e-2), DataType.FLOAT);
        DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 3, 6), Nd4j.eye(3).castTo(DataType.FLOAT));
        for (int i = 0; i < 3; i++) {
            trained.fit(batch);
        }
        ComputationGraph fresh = spec.build(2, new Adam(1e-2), DataType.FLOAT);
        assertNotEquals(trained.params(), fresh.params(), "different seeds, different starts");

        LocalSgdRound.State.of(trained).applyTo(fresh);

        assertEquals(trained.params(), fresh.params());
        assertEquals(trained.getUpdater().getStateViewArray(), fresh.getUpdater().getStateViewArray());
        assertEquals(3, fresh.getConfiguration().getIterationCount());
        assertEquals(trained.outputSingle(batch.getFeatures()), fresh.outputSingle(batch.getFeatures()));
    }
}

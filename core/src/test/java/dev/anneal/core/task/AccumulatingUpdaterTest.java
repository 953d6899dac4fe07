package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

class AccumulatingUpdaterTest {

    private static ComputationGraph mlp(org.nd4j.linalg.learning.config.IUpdater updater) {
        return new MlpSpec(4, List.of(6), 3, Loss.SOFTMAX_CROSS_ENTROPY).build(11, updater, DataType.DOUBLE);
    }

    private static DataSet data(int rows, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.DOUBLE, rows, 4);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, rows, 3);
        for (int i = 0; i < rows; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        return new DataSet(x, y);
    }

    private static DataSet rows(DataSet d, int from, int to) {
        return new DataSet(d.getFeatures().get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup(),
                d.getLabels().get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup());
    }

    @Test
    void twoHalfBatchesMakeTheUpdateOfOneWholeBatch() {
        DataSet whole = data(8, 3);
        ComputationGraph once = mlp(new Adam(0.05));
        ComputationGraph accumulated = mlp(new AccumulatingUpdater(new Adam(0.05), 2));
        assertEquals(once.params(), accumulated.params(), "same start");

        for (int round = 0; round < 3; round++) {
            once.fit(whole);
            accumulated.fit(rows(whole, 0, 4));
            accumulated.fit(rows(whole, 4, 8));
        }

        INDArray diff = once.params().sub(accumulated.params());
        assertTrue(diff.norm2Number().doubleValue() < 1e-9, "difference " + diff.norm2Number());
        assertNotEquals(mlp(new Adam(0.05)).params(), once.params(), "training moved the parameters");
    }

    @Test
    void aMinibatchThatDoesNotCloseAGroupChangesNothing() {
        ComputationGraph g = mlp(new AccumulatingUpdater(new Adam(0.05), 3));
        INDArray start = g.params().dup();

        g.fit(rows(data(8, 4), 0, 4));
        g.fit(rows(data(8, 4), 4, 8));
        assertEquals(start, g.params(), "two of three minibatches: no update yet");
        g.fit(rows(data(8, 5), 0, 4));
        assertNotEquals(start, g.params(), "the third closes the group");
    }

    @Test
    void survivesTheJsonConfigurationWorkersAndCheckpointsRead() {
        ComputationGraph g = mlp(new AccumulatingUpdater(new Adam(new WarmupSchedule(0.1, 2, 10, "cosine", 1, 1)),
                4));
        String json = g.getConfiguration().toJson();

        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);

        assertEquals(g.getConfiguration(), back);
        assertTrue(json.contains("AccumulatingUpdater") && json.contains("WarmupSchedule"), json);
    }
}

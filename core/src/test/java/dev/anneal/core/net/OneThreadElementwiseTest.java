package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Environment;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

class OneThreadElementwiseTest {
    private final Environment environment = Nd4j.getEnvironment();
    private int threadsBefore;
    private int masterBefore;

    /** This class runs in a JVM started with two native threads (core/pom.xml): ND4J cannot go above its start. */
    @BeforeEach
    void twoThreads() {
        threadsBefore = environment.maxThreads();
        masterBefore = environment.maxMasterThreads();
        environment.setMaxThreads(2);
        environment.setMaxMasterThreads(2);
        assertEquals(2, environment.maxMasterThreads(), "this test needs OMP_NUM_THREADS=2 or more");
    }

    @AfterEach
    void restore() {
        environment.setMaxMasterThreads(masterBefore);
        environment.setMaxThreads(threadsBefore);
    }

    @Test
    void overlappingStepsLowerTheSettingOnceAndTheLastToLeaveRestoresIt() {
        OneThreadElementwise first = OneThreadElementwise.enter(128 * 512);
        assertEquals(1, environment.maxMasterThreads());
        OneThreadElementwise second = OneThreadElementwise.enter(64);
        assertEquals(1, environment.maxMasterThreads());
        first.close();
        assertEquals(1, environment.maxMasterThreads(), "the second step is still inside");
        second.close();
        assertEquals(2, environment.maxMasterThreads());
    }

    @Test
    void largeActivationsKeepTheThreads() {
        try (OneThreadElementwise ignored = OneThreadElementwise.enter(OneThreadElementwise.MAX_ELEMENTS + 1)) {
            assertEquals(2, environment.maxMasterThreads());
        }
        assertEquals(2, environment.maxMasterThreads());
    }

    @Test
    void aTrainerStepLeavesTheSettingAsItFoundIt() {
        ComputationGraph network = new MlpSpec(6, List.of(5), 3, Loss.SOFTMAX_CROSS_ENTROPY)
                .build(1, new Adam(1e-2), DataType.FLOAT);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        DataSet minibatch = new DataSet(Nd4j.rand(DataType.FLOAT, 4, 6), Nd4j.eye(3).getRows(0, 1, 2, 0)
                .castTo(DataType.FLOAT));
        trainer.fit(minibatch);
        assertEquals(2, environment.maxMasterThreads());
        assertEquals(1, network.getConfiguration().getIterationCount());
    }
}

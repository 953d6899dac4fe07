package dev.anneal.jobs;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.jobs.engine.EngineSettings;
import dev.anneal.jobs.engine.ParameterAveragingEngine;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.Repartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parameter averaging with one worker that averages after every minibatch must be single-JVM training: the same
 * parameters and the same updater state, to the bit.
 */
class ParameterAveragingEquivalenceTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    private static final int VOCAB = 12;
    private static final int BATCH = 8;
    private static final int STEPS = 5;
    private static final LstmLanguageModelSpec SPEC = new LstmLanguageModelSpec(VOCAB, 6, 10, 1);

    @Test
    void sgdIsBitForBitSingleJvmTraining() {
        assertSameTraining(new Sgd(0.1), graph -> { });
    }

    @Test
    void rmsPropWithItsStateIsBitForBitSingleJvmTraining() {
        assertSameTraining(new RmsProp(0.01), graph -> { });
    }

    /**
     * DL4J's parameter-averaging workers rebuild the network from a configuration whose iteration count is 0, so
     * Adam's bias correction restarts at step 1 in every averaging round. Single-JVM training that resets the
     * count the same way matches to the bit, which pins down that this, and nothing else, is the difference.
     */
    @Test
    void adamMatchesSingleJvmTrainingWhoseStepCountRestartsEachRound() {
        assertSameTraining(new Adam(0.01), graph -> graph.getConfiguration().setIterationCount(0));

        ComputationGraph plain = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        ComputationGraph reset = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        for (DataSet ds : minibatches()) {
            plain.fit(ds);
            reset.getConfiguration().setIterationCount(0);
            reset.fit(ds);
        }
        assertNotEquals(plain.params(), reset.params(), "the reset changes Adam's steps, so the test above can fail");
    }

    private void assertSameTraining(IUpdater updater, Consumer<ComputationGraph> beforeEachSingleJvmStep) {
        List<DataSet> minibatches = minibatches();
        ComputationGraph single = SPEC.build(7, updater, DataType.FLOAT);
        INDArray initial = single.params().dup();
        for (DataSet ds : minibatches) {
            beforeEachSingleJvmStep.accept(single);
            single.fit(ds);
        }

        JavaSparkContext sc = SPARK.context();
        ComputationGraph distributed = SPEC.build(7, updater, DataType.FLOAT);
        assertEquals(initial, distributed.params(), "both start from the same seeded initialisation");
        TrainingSettings training = new TrainingSettings(TrainingSettings.PARAMETER_AVERAGING, 1, BATCH, 0.01, 1, 1, 0);
        try (ParameterAveragingEngine engine = new ParameterAveragingEngine(sc, distributed,
                new EngineSettings(training, 7, 1), Repartition.Never)) {
            // One minibatch per pass: with one worker averaging every minibatch, each pass is one step.
            for (DataSet ds : minibatches) {
                distributed = engine.fitEpoch(sc.parallelize(List.of(ds), 1));
            }
        }

        assertTrue(single.params().distance2(initial) > 1e-3, "training must have moved the parameters");
        assertArrayEquals(single.params().toFloatVector(), distributed.params().toFloatVector(), 0f,
                "parameters after " + STEPS + " steps");
        INDArray singleState = single.getUpdater().getStateViewArray();
        if (singleState != null) {
            assertArrayEquals(singleState.toFloatVector(),
                    distributed.getUpdater().getStateViewArray().toFloatVector(), 0f, "updater state");
        }
    }

    private static List<DataSet> minibatches() {
        Random random = new Random(11);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < STEPS; b++) {
            int[][] windows = new int[BATCH][17];
            for (int[] w : windows) {
                for (int t = 0; t < w.length; t++) {
                    w[t] = random.nextInt(VOCAB);
                }
            }
            out.add(LanguageModelBatches.languageModelBatch(windows, VOCAB));
        }
        return out;
    }
}

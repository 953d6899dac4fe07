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
        assertSameTraining(new Sgd(0.1));
    }

    @Test
    void rmsPropWithItsStateIsBitForBitSingleJvmTraining() {
        assertSameTraining(new RmsProp(0.01));
    }

    /**
     * DL4J's parameter-averaging workers rebuild the network from a configuration whose step count is 0; without
     * Anneal's step-count hook, Adam's bias correction would restart every averaging round and this would fail
     * from the second step on.
     */
    @Test
    void adamWithItsStateIsBitForBitSingleJvmTraining() {
        assertSameTraining(new Adam(0.01));
    }

    /** Two averaging rounds of five minibatches each: the second round continues Adam's step count. */
    @Test
    void adamAveragingEveryFifthStepOverTwoPassesIsBitForBitSingleJvmTraining() {
        assertSameTraining(new Adam(0.01), STEPS, 2);
    }

    @Test
    void adamDependsOnTheStepCountSoTheTestAboveCanFail() {
        ComputationGraph plain = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        ComputationGraph reset = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        for (DataSet ds : minibatches()) {
            plain.fit(ds);
            reset.getConfiguration().setIterationCount(0);
            reset.fit(ds);
        }
        assertNotEquals(plain.params(), reset.params());
    }

    private void assertSameTraining(IUpdater updater) {
        assertSameTraining(updater, 1, 1);
    }

    /**
     * Trains {@code passes} times over the minibatches, single-JVM and with one worker that averages every
     * {@code averagingFrequency} minibatches, and compares parameters and updater state.
     */
    private void assertSameTraining(IUpdater updater, int averagingFrequency, int passes) {
        List<DataSet> minibatches = minibatches();
        ComputationGraph single = SPEC.build(7, updater, DataType.FLOAT);
        INDArray initial = single.params().dup();
        for (int pass = 0; pass < passes; pass++) {
            for (DataSet ds : minibatches) {
                single.fit(ds);
            }
        }

        JavaSparkContext sc = SPARK.context();
        ComputationGraph distributed = SPEC.build(7, updater, DataType.FLOAT);
        assertEquals(initial, distributed.params(), "both start from the same seeded initialisation");
        TrainingSettings training = TrainingSettings.parameterAveraging(1, BATCH, 0.01,
                averagingFrequency, 1, 0);
        try (ParameterAveragingEngine engine = new ParameterAveragingEngine(sc, distributed,
                new EngineSettings(training, 7, 1), Repartition.Never)) {
            for (int pass = 0; pass < passes; pass++) {
                if (averagingFrequency == 1) {
                    // One minibatch per fit: with one worker averaging every minibatch, each fit is one step.
                    for (DataSet ds : minibatches) {
                        distributed = engine.fitEpoch(sc.parallelize(List.of(ds), 1));
                    }
                } else {
                    // One partition, kept in order: the worker fits the minibatches as single-JVM training does.
                    distributed = engine.fitEpoch(sc.parallelize(minibatches, 1));
                }
            }
        }

        assertTrue(single.params().distance2(initial) > 1e-3, "training must have moved the parameters");
        assertArrayEquals(single.params().toFloatVector(), distributed.params().toFloatVector(), 0f,
                "parameters after " + STEPS * passes + " steps");
        INDArray singleState = single.getUpdater().getStateViewArray();
        if (singleState != null) {
            assertArrayEquals(singleState.toFloatVector(),
                    distributed.getUpdater().getStateViewArray().toFloatVector(), 0f, "updater state");
        }
    }

    /**
     * DL4J's parameter-averaging worker fits at most {@code averagingFrequency} minibatches per round and drops the
     * rest of its share; DL4J cuts a fit of more than one round at random, so a partition's share of a round can
     * exceed the frequency. The engine hands DL4J one round at a time, so every minibatch of the pass is fitted.
     */
    @Test
    void aPassThatIsNotWholeRoundsFitsEveryMinibatch() {
        JavaSparkContext sc = SPARK.context();
        List<DataSet> minibatches = minibatches(13);
        TrainingSettings training = TrainingSettings.parameterAveraging(1, BATCH, 0.01, 3, 2, 0);
        try (ParameterAveragingEngine engine = new ParameterAveragingEngine(sc,
                SPEC.build(7, new Adam(0.01), DataType.FLOAT), new EngineSettings(training, 7, 2),
                Repartition.Never)) {
            // Two partitions of 6 and 7 minibatches: rounds of at most 2 x 3, the last one short.
            engine.fitPass(sc.parallelize(minibatches, 2));
            assertEquals(13, engine.progress().minibatches(), "minibatches fitted");
            assertEquals(13L * BATCH, engine.progress().examples(), "examples fitted");
        }
    }

    private static List<DataSet> minibatches() {
        return minibatches(STEPS);
    }

    private static List<DataSet> minibatches(int count) {
        Random random = new Random(11);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
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

package dev.anneal.jobs;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parameter averaging's measured traffic is what its algorithm must move: each averaging round, every worker sends
 * back its parameters and Adam's two state arrays (12 bytes per parameter in float32), and nothing is counted twice
 * over passes.
 */
class TrafficTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    private static final int VOCAB = 12;
    private static final LstmLanguageModelSpec SPEC = new LstmLanguageModelSpec(VOCAB, 8, 32, 1);

    private static List<DataSet> minibatches(int n) {
        Random random = new Random(11);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < n; b++) {
            int[][] windows = new int[8][17];
            for (int[] w : windows) {
                for (int t = 0; t < w.length; t++) {
                    w[t] = random.nextInt(VOCAB);
                }
            }
            out.add(LanguageModelBatches.languageModelBatch(windows, VOCAB));
        }
        return out;
    }

    @Test
    void parameterAveragingMovesParametersAndUpdaterStateOncePerWorkerAndRound() {
        JavaSparkContext sc = SPARK.context();
        ComputationGraph graph = SPEC.build(1, new Adam(0.01), DataType.FLOAT);
        long params = graph.numParams();
        int workers = 2;
        int frequency = 3;
        int minibatches = 12;
        int rounds = minibatches / (workers * frequency);
        TrainingSettings settings = TrainingSettings.parameterAveraging(1, 8, 0.01, frequency, workers, 0);
        List<Traffic> passes = new ArrayList<>();
        try (TrainingEngine engine = TrainingEngines.create(sc, graph, settings, 1)) {
            for (int pass = 0; pass < 2; pass++) {
                engine.fitEpoch(sc.parallelize(minibatches(minibatches), workers));
                passes.add(engine.lastTraffic());
            }
        }
        double expected = (double) rounds * workers * 12 * params;
        for (Traffic t : passes) {
            double ratio = t.resultBytes() / expected;
            System.out.printf("parameter averaging, %d parameters, %d rounds x %d workers: results %d bytes = %.3f x "
                    + "the 12 bytes per parameter per worker and round; broadcast %d, transport %d, data shuffle %d%n",
                    params, rounds, workers, t.resultBytes(), ratio, t.broadcastBytes(), t.transportBytes(),
                    t.dataShuffleBytes());
            assertTrue(ratio > 0.99 && ratio < 1.2, "results carry parameters + Adam's state: " + ratio);
            assertEquals(0, t.transportBytes(), "parameter averaging has no transport");
            assertEquals(0, t.broadcastBytes(), "local mode fetches no broadcast: the executor is the driver");
            assertTrue(t.dataShuffleBytes() > 0, "balancing the minibatches over the workers shuffles them");
        }
        double drift = Math.abs(passes.get(1).resultBytes() - passes.get(0).resultBytes())
                / (double) passes.get(0).resultBytes();
        assertTrue(drift < 0.05, "each pass counts its own bytes only: " + passes);
    }
}

package dev.anneal.jobs;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.ChainTrainer;
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import dev.anneal.core.net.NetworkSpec;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.jobs.engine.EngineSettings;
import dev.anneal.jobs.engine.LocalSgdEngine;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingProgress;
import dev.anneal.jobs.engine.TrainingEngines;
import dev.anneal.jobs.eval.LanguageModelLoss;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Anneal's local-SGD engine: with one worker it is single-JVM training to the bit (whatever the averaging frequency,
 * over several passes); with two it learns what DL4J's parameter averaging learns; its traffic is what its algorithm
 * must move; and a seed repeats a run.
 */
class LocalSgdEngineTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    private static final int VOCAB = 8;
    private static final LstmLanguageModelSpec SPEC = new LstmLanguageModelSpec(VOCAB, 6, 16, 1);

    @Test
    void oneWorkerAveragingEveryStepIsBitForBitSingleJvmSgd() {
        assertSameTraining(new Sgd(0.1), 1, 1);
    }

    @Test
    void oneWorkerWithRmsPropStateIsBitForBitSingleJvmTraining() {
        assertSameTraining(new RmsProp(0.01), 1, 1);
    }

    @Test
    void oneWorkerWithAdamEveryStepOverTwoPassesIsBitForBitSingleJvmTraining() {
        assertSameTraining(new Adam(0.01), 1, 2);
    }

    /** Rounds of 3 steps over 10 minibatches: the last round is short, and the second pass continues Adam's count. */
    @Test
    void oneWorkerWithAdamEveryThirdStepOverTwoPassesIsBitForBitSingleJvmTraining() {
        assertSameTraining(new Adam(0.01), 3, 2);
    }

    /** A pass dealt by the caller (partition i is worker i's share, in order) trains as single-JVM training does. */
    @Test
    void oneWorkerOnDealtPassesIsBitForBitSingleJvmTraining() {
        List<DataSet> minibatches = data(10, 3);
        ComputationGraph single = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        JavaSparkContext sc = SPARK.context();
        ComputationGraph distributed = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
        try (LocalSgdEngine engine = new LocalSgdEngine(sc, distributed, new EngineSettings(settings(3, 1), 7, 1))) {
            for (int pass = 0; pass < 2; pass++) {
                for (DataSet ds : minibatches) {
                    single.fit(ds);
                }
                distributed = engine.fitPass(sc.parallelize(minibatches, 1));
                assertTrue(engine.lastTrainingLoss().isPresent(), "the workers report their training score");
                assertEquals(single.score(), engine.lastTrainingLoss().getAsDouble(), 1e-6,
                        "one worker's score after its last step is single-JVM training's");
            }
        }
        assertArrayEquals(single.params().toFloatVector(), distributed.params().toFloatVector(), 0f, "parameters");
        assertArrayEquals(single.getUpdater().getStateViewArray().toFloatVector(),
                distributed.getUpdater().getStateViewArray().toFloatVector(), 0f, "updater state");
    }

    /**
     * An MLP's and a CNN's worker steps go through Anneal's trainer: one worker ends bit for bit where that trainer
     * ends in one JVM, and close to, but not bit for bit at, DL4J's own fit (which shows the trainer really ran).
     */
    @Test
    void oneWorkerTrainsAnMlpAndACnnThroughAnnealsTrainerAsInOneJvm() {
        assertTrainsThroughTheTrainerAsInOneJvm(new MlpSpec(6, List.of(8), 3, Loss.SOFTMAX_CROSS_ENTROPY), 6);
        // 10×10 → conv 3×3 → 8×8 → pool → 4×4×3 → dense 6 → 3.
        assertTrainsThroughTheTrainerAsInOneJvm(new CnnSpec(10, 10, 1, List.of(3), 3, 6, 3,
                Loss.SOFTMAX_CROSS_ENTROPY), 100);
    }

    private static void assertTrainsThroughTheTrainerAsInOneJvm(NetworkSpec spec, int inputs) {
        Random random = new Random(4);
        List<DataSet> minibatches = new ArrayList<>();
        for (int b = 0; b < 6; b++) {
            float[][] x = new float[16][inputs];
            float[][] y = new float[16][3];
            for (int i = 0; i < 16; i++) {
                for (int j = 0; j < inputs; j++) {
                    x[i][j] = (float) random.nextGaussian();
                }
                y[i][x[i][0] + x[i][1] > 0 ? 0 : x[i][2] > 0 ? 1 : 2] = 1;
            }
            minibatches.add(new DataSet(Nd4j.create(x), Nd4j.create(y)));
        }
        ComputationGraph anneal = spec.build(5, new Adam(0.01), DataType.FLOAT);
        ComputationGraph dl4j = spec.build(5, new Adam(0.01), DataType.FLOAT);
        ChainTrainer trainer = ChainTrainer.forNetwork(anneal);
        assertTrue(trainer != null, ChainTrainer.unsupportedReason(anneal));
        for (int pass = 0; pass < 2; pass++) {
            for (DataSet ds : minibatches) {
                trainer.fit(ds);
                dl4j.fit(ds);
            }
        }
        JavaSparkContext sc = SPARK.context();
        ComputationGraph distributed = spec.build(5, new Adam(0.01), DataType.FLOAT);
        try (LocalSgdEngine engine = new LocalSgdEngine(sc, distributed, new EngineSettings(settings(4, 1), 5, 1),
                false)) {
            for (int pass = 0; pass < 2; pass++) {
                distributed = engine.fitEpoch(sc.parallelize(minibatches, 1));
            }
        }
        String kind = spec.kind() + ": ";
        assertArrayEquals(anneal.params().toFloatVector(), distributed.params().toFloatVector(), 0f,
                kind + "parameters");
        assertArrayEquals(anneal.getUpdater().getStateViewArray().toFloatVector(),
                distributed.getUpdater().getStateViewArray().toFloatVector(), 0f, kind + "Adam's state");
        assertEquals(12, distributed.getConfiguration().getIterationCount());
        double difference = dl4j.params().distance2(distributed.params());
        assertTrue(difference > 0 && difference < 1e-4 * dl4j.params().norm2Number().doubleValue(),
                kind + "close to DL4J's own fit, not identical: " + difference);
    }

    private void assertSameTraining(IUpdater updater, int frequency, int passes) {
        List<DataSet> minibatches = data(10, 3);
        ComputationGraph single = SPEC.build(7, updater, DataType.FLOAT);
        INDArray initial = single.params().dup();
        for (int pass = 0; pass < passes; pass++) {
            for (DataSet ds : minibatches) {
                single.fit(ds);
            }
        }
        JavaSparkContext sc = SPARK.context();
        ComputationGraph distributed = SPEC.build(7, updater, DataType.FLOAT);
        TrainingSettings training = settings(frequency, 1);
        JavaRDD<DataSet> rdd = sc.parallelize(minibatches, 1);
        try (LocalSgdEngine engine = new LocalSgdEngine(sc, distributed, new EngineSettings(training, 7, 1), false)) {
            for (int pass = 0; pass < passes; pass++) {
                distributed = engine.fitEpoch(rdd);
            }
        }
        assertTrue(single.params().distance2(initial) > 1e-3, "training must have moved the parameters");
        assertArrayEquals(single.params().toFloatVector(), distributed.params().toFloatVector(), 0f,
                "parameters after " + passes * minibatches.size() + " steps");
        assertEquals(single.getConfiguration().getIterationCount(),
                distributed.getConfiguration().getIterationCount(), "step count");
        INDArray state = single.getUpdater().getStateViewArray();
        if (state != null) {
            assertArrayEquals(state.toFloatVector(), distributed.getUpdater().getStateViewArray().toFloatVector(), 0f,
                    "updater state");
        }
    }

    @Test
    void twoWorkersLearnAsParameterAveragingDoesAndASeedRepeatsARun() {
        List<DataSet> data = data(16, 5);
        JavaSparkContext sc = SPARK.context();
        JavaRDD<DataSet> rdd = sc.parallelize(data, 2);
        double untrained = LanguageModelLoss.of(sc, SPEC.build(3, new Adam(0.02), DataType.FLOAT), rdd).nats();
        double averaged = train(TrainingSettings.PARAMETER_AVERAGING, rdd, 4);
        double local = train(TrainingSettings.LOCAL_SGD, rdd, 4);
        double localAgain = train(TrainingSettings.LOCAL_SGD, rdd, 4);
        System.out.printf("loss per token: untrained %.4f, parameter averaging %.4f, local SGD %.4f then %.4f%n",
                untrained, averaged, local, localAgain);
        assertTrue(local < untrained * 0.8, "local SGD learns: " + local + " vs " + untrained);
        assertTrue(Math.abs(local - averaged) < 0.1 * averaged,
                "local SGD ends within 10 % of parameter averaging's loss: " + local + " vs " + averaged);
        assertEquals(local, localAgain, 0.0, "the same seed and data repeat a run exactly");
    }

    private static double train(String engineName, JavaRDD<DataSet> rdd, int epochs) {
        JavaSparkContext sc = SPARK.context();
        ComputationGraph graph = SPEC.build(3, new Adam(0.02), DataType.FLOAT);
        try (TrainingEngine engine = TrainingEngines.create(sc, graph, settings(2, 2).with(engineName,
                settings(2, 2).gradientSharing()), 3)) {
            assertEquals(engineName, engine.name());
            for (int e = 0; e < epochs; e++) {
                graph = engine.fitEpoch(rdd);
            }
        }
        return LanguageModelLoss.of(sc, graph, rdd).nats();
    }

    /**
     * The sparse exchange (density 0.1): two workers learn (in 16 rounds less far than averaging whole networks:
     * most of each change waits in the residuals; the benchmark's MLP measures how far at scale), a seed repeats a
     * run exactly, and each round moves a tenth of the entries at about 3.4 characters each (3 bytes, 7 bits a
     * character) instead of 12 bytes per parameter; at the end of a pass only the parameters come back.
     */
    @Test
    void aSparseExchangeLearnsRepeatsARunAndMovesAFractionOfTheBytes() {
        JavaSparkContext sc = SPARK.context();
        List<DataSet> minibatches = data(16, 5);
        JavaRDD<DataSet> rdd = sc.parallelize(minibatches, 2);
        double untrained = LanguageModelLoss.of(sc, SPEC.build(3, new Adam(0.02), DataType.FLOAT), rdd).nats();
        double[] losses = new double[3];
        long[] bytes = new long[3];
        long parameters = 0;
        for (int run = 0; run < 3; run++) {
            ComputationGraph graph = SPEC.build(3, new Adam(0.02), DataType.FLOAT);
            parameters = graph.numParams();
            TrainingSettings training = settings(2, 2).withLocalSgdDensity(run == 0 ? 1.0 : 0.1);
            try (TrainingEngine engine = TrainingEngines.create(sc, graph, training, 3)) {
                for (int e = 0; e < 4; e++) {
                    graph = engine.fitEpoch(rdd);
                }
                bytes[run] = engine.lastTraffic().resultBytes();
            }
            losses[run] = LanguageModelLoss.of(sc, graph, rdd).nats();
        }
        System.out.printf("loss per token: untrained %.4f, dense %.4f, sparse 0.1 %.4f then %.4f; bytes in the last "
                + "pass: dense %d, sparse %d%n", untrained, losses[0], losses[1], losses[2], bytes[0], bytes[1]);
        assertTrue(losses[1] < untrained * 0.4, "the sparse exchange learns: " + losses[1] + " vs " + untrained);
        assertEquals(losses[1], losses[2], 0.0, "the same seed and data repeat a run exactly");
        // 8 minibatches a worker, every 2: 4 rounds; each worker sends one message and receives two per round, each
        // message 3 or more bytes an entry at 7 bits a character.
        long entries = Math.round(0.1 * parameters);
        double minimum = 4 * 2 * 3 * (entries * 3.0 + 20) * 8 / 7 + 4.0 * parameters;
        assertTrue(bytes[1] >= minimum && bytes[1] < minimum * 1.3,
                "4 rounds of 6 messages and the parameters: " + bytes[1] + " vs at least " + minimum);
        assertTrue(bytes[1] * 10 < bytes[0], "a tenth of the dense exchange's bytes or less: " + bytes[1] + " vs "
                + bytes[0]);
    }

    /**
     * A pass cut from an epoch of several passes (a checkpoint or divergence check inside the epoch) shares a stage
     * with the epoch's shuffle of more partitions, which Spark's barrier mode refuses; both barrier exchanges train on
     * it exactly as on the same minibatches dealt to the workers directly.
     */
    @Test
    void passesCutFromAnEpochTrainInBarrierStagesAsTheSameMinibatchesDealtDirectly() {
        JavaSparkContext sc = SPARK.context();
        EpochPlan.Epoch epoch = new EpochPlan(sc.parallelize(data(12, 8), 3), 2, 4).epoch(1, 0, new long[] {6, 12});
        for (double density : new double[] {1.0, 0.1}) {
            float[][] ends = new float[2][];
            for (int run = 0; run < 2; run++) {
                ComputationGraph graph = SPEC.build(4, new Adam(0.02), DataType.FLOAT);
                try (TrainingEngine engine = TrainingEngines.create(sc, graph,
                        settings(2, 2).withLocalSgdDensity(density), 4)) {
                    for (int k = 0; k < epoch.passes(); k++) {
                        JavaRDD<DataSet> pass = epoch.pass(k);
                        if (run == 1) {
                            List<List<DataSet>> shares = pass.glom().collect();
                            pass = sc.parallelize(shares, shares.size()).flatMap(List::iterator);
                        }
                        graph = engine.fitPass(pass);
                    }
                }
                ends[run] = graph.params().toFloatVector();
            }
            assertArrayEquals(ends[1], ends[0], "density " + density);
        }
    }

    /**
     * Under the sparse exchange only parameters return after a pass, so the driver's network keeps the Adam state the
     * run started with; {@code checkpointState} fetches the one a worker kept, and fetching it changes nothing the next
     * pass does.
     */
    @Test
    void aSparseExchangeHandsACheckpointAWorkersAdamStateAndTrainsOnAsBefore() {
        JavaSparkContext sc = SPARK.context();
        JavaRDD<DataSet> rdd = sc.parallelize(data(8, 6), 2);
        float[][] ends = new float[2][];
        for (int run = 0; run < 2; run++) {
            ComputationGraph graph = SPEC.build(9, new Adam(0.02), DataType.FLOAT);
            float[] initial = graph.getUpdater().getStateViewArray().toFloatVector();
            try (TrainingEngine engine = TrainingEngines.create(sc, graph, settings(2, 2).withLocalSgdDensity(0.1),
                    9)) {
                graph = engine.fitEpoch(rdd);
                if (run == 1) {
                    assertArrayEquals(initial, graph.getUpdater().getStateViewArray().toFloatVector(),
                            "after a sparse pass the driver holds the initial Adam state");
                    float[] adam = engine.checkpointState().getUpdater().getStateViewArray().toFloatVector();
                    long moved = 0;
                    for (int i = 0; i < adam.length; i++) {
                        moved += adam[i] != initial[i] ? 1 : 0;
                    }
                    assertTrue(moved > adam.length * 0.9, "a worker's moments: " + moved + " of " + adam.length
                            + " values differ from the initial state");
                }
                graph = engine.fitEpoch(rdd);
            }
            ends[run] = graph.params().toFloatVector();
        }
        assertArrayEquals(ends[0], ends[1],
                "fetching the Adam state for a checkpoint changes nothing the next pass does");
    }

    /**
     * The sparse exchange's workers start a pass from the parameters they kept only while the driver's network still
     * holds them: a change the driver makes between passes (here +1 to one parameter) reaches the next pass.
     */
    @Test
    void aSparseExchangeStartsFromTheDriversParametersWhenTheyChanged() {
        JavaSparkContext sc = SPARK.context();
        JavaRDD<DataSet> rdd = sc.parallelize(data(8, 4), 2);
        float[][] ends = new float[2][];
        for (int run = 0; run < 2; run++) {
            ComputationGraph graph = SPEC.build(5, new Adam(0.02), DataType.FLOAT);
            try (TrainingEngine engine = TrainingEngines.create(sc, graph, settings(2, 2).withLocalSgdDensity(0.1),
                    5)) {
                graph = engine.fitEpoch(rdd);
                if (run == 1) {
                    graph.params().putScalar(0, graph.params().getFloat(0) + 1f);
                }
                graph = engine.fitEpoch(rdd);
            }
            ends[run] = graph.params().toFloatVector();
        }
        assertEquals(1f, ends[1][0] - ends[0][0], 0.2f, "the driver's +1 carried through the second pass");
    }

    /**
     * The two exchanges compute the same mean: two workers with Adam over two passes, on dealt passes of unequal
     * shares (6 and 5 minibatches, averaging every 5: in the second round one worker has nothing to fit) and on
     * passes the engine deals and reorders, end bit for bit alike, with the same step count and training loss.
     */
    @Test
    void barrierStagesAndRoundJobsTrainBitForBitAlike() {
        JavaSparkContext sc = SPARK.context();
        List<DataSet> minibatches = data(11, 6);
        for (boolean dealt : new boolean[]{true, false}) {
            List<ComputationGraph> ends = new ArrayList<>();
            List<Double> losses = new ArrayList<>();
            List<TrainingProgress> progress = new ArrayList<>();
            for (String exchange : List.of(TrainingSettings.EXCHANGE_BARRIER, TrainingSettings.EXCHANGE_AGGREGATE)) {
                ComputationGraph graph = SPEC.build(7, new Adam(0.01), DataType.FLOAT);
                TrainingSettings training = settings(5, 2).withLocalSgdExchange(exchange);
                JavaRDD<DataSet> rdd = sc.parallelize(minibatches, 2);
                try (LocalSgdEngine engine = new LocalSgdEngine(sc, graph, new EngineSettings(training, 7, 2))) {
                    for (int pass = 0; pass < 2; pass++) {
                        graph = dealt ? engine.fitPass(rdd) : engine.fitEpoch(rdd);
                    }
                    losses.add(engine.lastTrainingLoss().getAsDouble());
                    progress.add(engine.progress());
                }
                ends.add(graph);
            }
            String what = dealt ? "dealt passes: " : "the engine's deal: ";
            assertArrayEquals(ends.get(1).params().toFloatVector(), ends.get(0).params().toFloatVector(), 0f,
                    what + "parameters");
            assertArrayEquals(ends.get(1).getUpdater().getStateViewArray().toFloatVector(),
                    ends.get(0).getUpdater().getStateViewArray().toFloatVector(), 0f, what + "Adam's state");
            assertEquals(ends.get(1).getConfiguration().getIterationCount(),
                    ends.get(0).getConfiguration().getIterationCount(), what + "step count");
            if (dealt) {
                assertEquals(12, ends.get(0).getConfiguration().getIterationCount(),
                        what + "two passes of two rounds (5 steps, then 1), each advancing by the most steps taken");
            }
            assertEquals(losses.get(1), losses.get(0), 0.0, what + "training loss");
            // What the run log reports: every minibatch of both passes, its examples and its training loss.
            assertEquals(progress.get(1), progress.get(0), what + "progress");
            assertEquals(22, progress.get(0).minibatches(), what + "minibatches fitted");
            assertEquals(22 * 16, progress.get(0).examples(), what + "examples fitted");
            assertTrue(progress.get(0).meanLoss() > 0, what + "mean training loss " + progress.get(0).meanLoss());
        }
    }

    /**
     * Each round every worker gets the parameters and Adam's two state arrays and sends them back: 12 bytes per
     * parameter in float32 each way. With per-round jobs in local mode the broadcast is not fetched (the executor is
     * the driver), so the results are what is measured; the minibatches are cached once and not shuffled again in
     * the second pass.
     */
    @Test
    void trafficIsParametersAndUpdaterStateOncePerWorkerAndRound() {
        assertTraffic(TrainingSettings.EXCHANGE_AGGREGATE, 1, 0);
    }

    /**
     * Through barrier stages each round every worker sends its parameters and Adam's state to the driver's barrier
     * coordinator and gets back every worker's (1 + workers messages of 12 bytes per parameter), and the pass's
     * partition 0 returns the state it ended with.
     */
    @Test
    void barrierTrafficIsEveryWorkersStateToAndFromTheCoordinatorEachRound() {
        assertTraffic(TrainingSettings.EXCHANGE_BARRIER, 3, 1);
    }

    /**
     * @param messagesPerWorkerAndRound messages of 12 bytes per parameter each worker moves per round
     * @param perPass                   such arrays moved once per pass besides
     */
    private static void assertTraffic(String exchange, int messagesPerWorkerAndRound, int perPass) {
        JavaSparkContext sc = SPARK.context();
        ComputationGraph graph = SPEC.build(1, new Adam(0.01), DataType.FLOAT);
        int workers = 2;
        int frequency = 3;
        int minibatches = 12;
        int rounds = minibatches / (workers * frequency);
        // Three input partitions for two workers: the engine deals them once, in the first pass.
        JavaRDD<DataSet> rdd = sc.parallelize(data(minibatches, 9), 3);
        List<Traffic> passes = new ArrayList<>();
        try (TrainingEngine engine = TrainingEngines.create(sc, graph, settings(frequency, workers)
                .withLocalSgdExchange(exchange), 1)) {
            for (int pass = 0; pass < 2; pass++) {
                engine.fitEpoch(rdd);
                passes.add(engine.lastTraffic());
            }
        }
        double expected = ((double) rounds * workers * messagesPerWorkerAndRound + perPass) * 12 * graph.numParams();
        for (Traffic t : passes) {
            double ratio = t.resultBytes() / expected;
            System.out.printf("local SGD (%s), %d parameters, %d rounds x %d workers: results %d bytes = %.3f x the "
                    + "12 bytes per parameter per message; broadcast %d, data shuffle %d%n", exchange,
                    graph.numParams(), rounds, workers, t.resultBytes(), ratio, t.broadcastBytes(),
                    t.dataShuffleBytes());
            assertTrue(ratio > 0.99 && ratio < 1.2, "results carry parameters + Adam's state: " + ratio);
            assertEquals(0, t.transportBytes(), "no transport");
            assertEquals(0, t.broadcastBytes(), "local mode fetches no broadcast: the executor is the driver");
        }
        assertTrue(passes.get(0).dataShuffleBytes() > 0, "the first pass deals 3 partitions to 2 workers");
        assertEquals(0, passes.get(1).dataShuffleBytes(), "the second pass trains from the cached deal");
    }

    private static TrainingSettings settings(int frequency, int workers) {
        return TrainingSettings.parameterAveraging(1, 16, 0.02, frequency, workers, 0)
                .with(TrainingSettings.LOCAL_SGD, TrainingSettings.parameterAveraging(1, 16, 0.02, frequency,
                        workers, 0).gradientSharing());
    }

    /** Noisy repetitions of a fixed 6-token cycle: a language model can learn to predict most next tokens. */
    private static List<DataSet> data(int minibatches, long seed) {
        Random random = new Random(seed);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < minibatches; b++) {
            int[][] windows = new int[16][21];
            for (int[] w : windows) {
                int start = random.nextInt(6);
                for (int t = 0; t < w.length; t++) {
                    w[t] = random.nextDouble() < 0.1 ? 6 + random.nextInt(2) : (start + t) % 6;
                }
            }
            out.add(LanguageModelBatches.languageModelBatch(windows, VOCAB));
        }
        return out;
    }
}

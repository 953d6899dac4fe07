package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

class ChainTrainerTest {

    /** Several minibatches of random features and one-hot labels, the last one smaller than the others. */
    private static List<DataSet> batches(int nIn, int nOut, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<DataSet> out = new ArrayList<>();
        for (int size : new int[] {16, 16, 16, 7}) {
            INDArray x = Nd4j.rand(DataType.FLOAT, size, nIn);
            INDArray y = Nd4j.zeros(DataType.FLOAT, size, nOut);
            for (int i = 0; i < size; i++) {
                y.putScalar(i, (i * 7 + size) % nOut, 1f);
            }
            out.add(new DataSet(x, y));
        }
        return out;
    }

    private static ComputationGraph pair(ComputationGraph original) {
        ComputationGraph copy = new ComputationGraph(original.getConfiguration().clone());
        copy.init(original.params().dup(), true);
        return copy;
    }

    /** Trains one copy through DL4J's fit and one through the trainer, and checks they end alike. */
    private static void assertTrainsLikeDl4j(ComputationGraph network, int nIn, int nOut) {
        assertTrainsLikeDl4j(network, nIn, nOut, 1);
    }

    private static void assertTrainsLikeDl4j(ComputationGraph network, int nIn, int nOut, int adamThreads) {
        assertTrainsLikeDl4j(network, nIn, nOut, adamThreads, false);
    }

    /** @param inPasses train each pass inside {@link ChainTrainer#pass}, Adam's moments kept in Java */
    private static void assertTrainsLikeDl4j(ComputationGraph network, int nIn, int nOut, int adamThreads,
                                             boolean inPasses) {
        ComputationGraph dl4j = pair(network);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        assertNotNull(trainer, ChainTrainer.unsupportedReason(network));
        trainer.withAdamThreads(adamThreads);
        INDArray initial = network.params().dup();
        List<DataSet> data = batches(nIn, nOut, 3);
        for (int pass = 0; pass < 3; pass++) {
            try (ChainTrainer.Pass open = inPasses ? trainer.pass() : null) {
                for (DataSet ds : data) {
                    dl4j.fit(ds);
                    trainer.fit(ds);
                    assertEquals(dl4j.score(), network.score(), 1e-4 * Math.max(1, Math.abs(dl4j.score())));
                }
            }
            dl4j.getConfiguration().setEpochCount(pass + 1);
            network.getConfiguration().setEpochCount(pass + 1);
        }
        assertEquals(dl4j.getConfiguration().getIterationCount(), network.getConfiguration().getIterationCount());
        assertEquals(12, network.getConfiguration().getIterationCount());
        assertClose(dl4j.params(), network.params(), "parameters");
        assertClose(dl4j.getUpdater().getStateViewArray(), network.getUpdater().getStateViewArray(), "Adam's state");
        // Both trained: the parameters moved well away from where they started, by more than they differ.
        assertTrue(network.params().distance2(initial) > 1e3 * network.params().distance2(dl4j.params()),
                "training moved the parameters");
    }

    /** A {@code CnnSpec} on greyscale {@code side × side} images, 3×3 kernels, dense 8, 4 classes, checked as above. */
    private static void assertCnnTrainsLikeDl4j(int side, List<Integer> convChannels, long seed) {
        CnnSpec spec = new CnnSpec(side, side, 1, convChannels, 3, 8, 4, Loss.SOFTMAX_CROSS_ENTROPY);
        assertTrainsLikeDl4j(spec.build(seed, new Adam(1e-2), DataType.FLOAT), side * side, 4);
    }

    /** A 6-4-3 MLP with Adam, small enough for step-by-step checks. */
    private static ComputationGraph small() {
        return new MlpSpec(6, List.of(4), 3, Loss.SOFTMAX_CROSS_ENTROPY).build(2, new Adam(1e-2), DataType.FLOAT);
    }

    /** A minibatch for {@link #small()} in float64, which the trainer does not take. */
    private static DataSet doubles() {
        return new DataSet(Nd4j.rand(DataType.DOUBLE, 5, 6), Nd4j.eye(5).getColumns(0, 1, 2).castTo(DataType.DOUBLE));
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double scale = Math.max(1e-3, expected.norm2Number().doubleValue());
        double distance = expected.distance2(actual);
        assertTrue(distance / scale < 1e-4, what + " differ: |Δ| = " + distance + " against |x| = " + scale);
    }

    @Test
    void trainsTheMlpSpecAsDl4jDoes() {
        MlpSpec spec = new MlpSpec(12, List.of(10, 8), 4, Loss.SOFTMAX_CROSS_ENTROPY);
        assertTrainsLikeDl4j(spec.build(5, new Adam(1e-2), DataType.FLOAT), 12, 4);
    }

    @Test
    void splitsALargeAdamBlockAcrossThreadsWithTheSameResult() {
        // 300·256 + 256 + 256·10 + 10 = 79,626 parameters in one Adam block: above the size where Adam is split.
        MlpSpec spec = new MlpSpec(300, List.of(256), 10, Loss.SOFTMAX_CROSS_ENTROPY);
        assertTrainsLikeDl4j(spec.build(9, new Adam(1e-2), DataType.FLOAT), 300, 10, 3);
    }

    @Test
    void trainsTanhSigmoidAndIdentityLayersAndPerParameterAdamAsDl4jDoes() {
        // Bias with its own Adam settings makes several updater blocks; the learning rate follows a schedule.
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(11)
                .updater(new Adam(new ExponentialSchedule(ScheduleType.ITERATION, 2e-2, 0.9)))
                .biasUpdater(new Adam(5e-3, 0.8, 0.99, 1e-6))
                .dataType(DataType.FLOAT)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.feedForward(9))
                .addLayer("a", new DenseLayer.Builder().nOut(7).activation(Activation.TANH).build(), "in")
                .addLayer("b", new DenseLayer.Builder().nOut(6).activation(Activation.SIGMOID).build(), "a")
                .addLayer("c", new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build(), "b")
                .addLayer("out", new OutputLayer.Builder(new LossMCXENT()).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "c")
                .setOutputs("out")
                .build();
        ComputationGraph network = new ComputationGraph(conf);
        network.init();
        assertTrue(network.getUpdater().getUpdaterBlocks().size() > 1);
        assertTrainsLikeDl4j(network, 9, 3);
    }

    @Test
    void trainsTheCnnSpecAsDl4jDoes() {
        // 14 → conv 3×3 → 12 → pool → 6 → conv → 4 → pool → 2: two blocks, then dense 8 and the head.
        assertCnnTrainsLikeDl4j(14, List.of(4, 6), 5);
    }

    @Test
    void trainsTheCnnSpecAsDl4jDoesWhenEachBlockGoesThroughTheMinibatchInGroups() {
        // 40 kB of columns: groups of 2 images in the first block (20 × 20 × 9 floats of columns each), of 4 in the
        // second (8 × 8 × 36), so that minibatches of 16 and 7 images go through in several groups, the last short.
        int before = ConvPool.groupBytes;
        ConvPool.groupBytes = 40 << 10;
        try {
            assertCnnTrainsLikeDl4j(22, List.of(4, 4), 6);
        } finally {
            ConvPool.groupBytes = before;
        }
    }

    @Test
    void trainsACnnWhosePoolingDropsAnOddLastRowAndColumnAsDl4jDoes() {
        // 13 → conv 3×3 → 11 (pooled: 10 of them) → 5 → conv → 3 (pooled: 2) → 1.
        assertCnnTrainsLikeDl4j(13, List.of(3, 4), 8);
    }

    @Test
    void trainsACnnOnColourImagesWithNonSquareKernelsAsDl4jDoes() {
        // Three channels read channel-major; a 3×2 kernel; within passes, Adam's moments kept in Java.
        ComputationGraph cnn = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .seed(4).updater(new Adam(1e-2)).dataType(DataType.FLOAT)
                .convolutionMode(ConvolutionMode.Truncate).graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutionalFlat(10, 9, 3))
                .addLayer("c", new ConvolutionLayer.Builder(3, 2).nOut(5).activation(Activation.RELU).build(), "in")
                .addLayer("p", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                        "c")
                .addLayer("d", new DenseLayer.Builder().nOut(7).activation(Activation.TANH).build(), "p")
                .addLayer("out", new OutputLayer.Builder(new LossMCXENT()).nOut(3).activation(Activation.SOFTMAX)
                        .build(), "d")
                .setOutputs("out").build());
        cnn.init();
        assertTrainsLikeDl4j(cnn, 3 * 10 * 9, 3, 1, true);
    }

    @Test
    void leavesWhatItDoesNotReproduceToDl4j() {
        ComputationGraph strided = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .updater(new Adam(1e-3)).dataType(DataType.FLOAT).convolutionMode(ConvolutionMode.Truncate)
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutionalFlat(12, 12, 1))
                .addLayer("c", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(2).activation(Activation.RELU)
                        .build(), "in")
                .addLayer("p", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                        "c")
                .addLayer("out", new OutputLayer.Builder(new LossMCXENT()).nOut(3).activation(Activation.SOFTMAX)
                        .build(), "p")
                .setOutputs("out").build());
        strided.init();
        assertTrue(ChainTrainer.unsupportedReason(strided).contains("stride-1"),
                ChainTrainer.unsupportedReason(strided));
        assertTrue(ChainTrainer.unsupportedReason(new CnnSpec(14, 14, 1, List.of(2), 3, 8, 4,
                Loss.SOFTMAX_CROSS_ENTROPY, 0.5).build(1, new Adam(1e-3), DataType.FLOAT)).contains("dropout"));
        assertNull(ChainTrainer.forNetwork(new LstmLanguageModelSpec(5, 3, 4, 2).build(1, new Adam(1e-3),
                DataType.FLOAT)));
        MlpSpec mlp = new MlpSpec(6, List.of(4), 3, Loss.SOFTMAX_CROSS_ENTROPY);
        assertTrue(ChainTrainer.unsupportedReason(mlp.build(1, new Sgd(0.1), DataType.FLOAT))
                .contains("not trained with Adam"));
        assertTrue(ChainTrainer.unsupportedReason(mlp.build(1, new Adam(1e-3), DataType.DOUBLE))
                .contains("float32"));
        assertTrue(ChainTrainer.unsupportedReason(new MlpSpec(6, List.of(4), 1, Loss.BINARY_CROSS_ENTROPY)
                .build(1, new Adam(1e-3), DataType.FLOAT)).contains("softmax"));
        ComputationGraph listened = mlp.build(1, new Adam(1e-3), DataType.FLOAT);
        listened.setListeners(new ScoreIterationListener(1));
        assertTrue(ChainTrainer.unsupportedReason(listened).contains("listeners"));
        ComputationGraph withDropout = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .updater(new Adam(1e-3)).dataType(DataType.FLOAT).dropOut(0.5).graphBuilder()
                .addInputs("in").setInputTypes(InputType.feedForward(6))
                .addLayer("h", new DenseLayer.Builder().nOut(4).activation(Activation.RELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder(new LossMCXENT()).nOut(3).activation(Activation.SOFTMAX)
                        .build(), "h")
                .setOutputs("out").build());
        withDropout.init();
        assertTrue(ChainTrainer.unsupportedReason(withDropout).contains("dropout"));
    }

    @Test
    void trainsAsDl4jDoesWithAdamsMomentsKeptInJavaForEachPass() {
        MlpSpec spec = new MlpSpec(300, List.of(256), 10, Loss.SOFTMAX_CROSS_ENTROPY);
        assertTrainsLikeDl4j(spec.build(9, new Adam(1e-2), DataType.FLOAT), 300, 10, 1, true);
        assertTrainsLikeDl4j(spec.build(9, new Adam(1e-2), DataType.FLOAT), 300, 10, 3, true);
    }

    @Test
    void withinAPassTheNetworksStateIsStaleUntilClosedAndAPassOpensOnce() {
        ComputationGraph network = small();
        ComputationGraph dl4j = pair(network);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        INDArray before = network.getUpdater().getStateViewArray().dup();
        DataSet batch = batches(6, 3, 1).get(0);
        ChainTrainer.Pass pass = trainer.pass();
        assertThrows(IllegalStateException.class, trainer::pass);
        trainer.fit(batch);
        dl4j.fit(batch);
        assertEquals(before, network.getUpdater().getStateViewArray(), "the moments are still in the trainer");
        assertClose(dl4j.params(), network.params(), "parameters, current after every step");
        pass.close();
        assertClose(dl4j.getUpdater().getStateViewArray(), network.getUpdater().getStateViewArray(),
                "Adam's state after the pass");
        pass.close();
        trainer.pass().close();
    }

    @Test
    void aMinibatchItCannotTakeWithinAPassTrainsFromTheCurrentMoments() {
        ComputationGraph network = small();
        ComputationGraph dl4j = pair(network);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        DataSet floats = batches(6, 3, 1).get(0);
        DataSet doubles = doubles();
        try (ChainTrainer.Pass pass = trainer.pass()) {
            for (DataSet ds : List.of(floats, doubles, floats)) {
                ChainTrainer.fit(trainer, network, ds);
                dl4j.fit(ds);
            }
        }
        assertEquals(3, network.getConfiguration().getIterationCount());
        assertClose(dl4j.params(), network.params(), "parameters");
        assertClose(dl4j.getUpdater().getStateViewArray(), network.getUpdater().getStateViewArray(), "Adam's state");
    }

    @Test
    void aMinibatchItCannotTakeGoesThroughDl4j() {
        ComputationGraph network = small();
        ComputationGraph dl4j = pair(network);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        assertNotNull(trainer);
        DataSet doubles = doubles();
        assertTrue(!trainer.takes(doubles));
        ChainTrainer.fit(trainer, network, doubles);
        dl4j.fit(doubles);
        assertEquals(1, network.getConfiguration().getIterationCount());
        assertClose(dl4j.params(), network.params(), "parameters after DL4J's own step");
    }

    @Test
    void aTrainerWhoseNetworkGotNewArraysRefusesAndTheStaticFitFallsBack() {
        MlpSpec spec = new MlpSpec(6, List.of(4), 3, Loss.SOFTMAX_CROSS_ENTROPY);
        ComputationGraph network = spec.build(2, new Adam(1e-2), DataType.FLOAT);
        ChainTrainer trainer = ChainTrainer.forNetwork(network);
        assertNotNull(trainer);
        DataSet batch = batches(6, 3, 1).get(0);
        trainer.fit(batch);
        assertTrue(trainer.isCurrent());
        network.setUpdater(new ComputationGraphUpdater(network));
        assertTrue(!trainer.isCurrent(), "a new updater has a new state array");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainer.fit(batch));
        assertTrue(e.getMessage().contains("replaced"), e.getMessage());
        ChainTrainer.fit(trainer, network, batch);
        assertEquals(2, network.getConfiguration().getIterationCount(), "DL4J's fit took the step");
        assertTrue(ChainTrainer.forNetwork(network).isCurrent());
    }

    @Test
    void canBeTurnedOff() {
        MlpSpec spec = new MlpSpec(6, List.of(4), 3, Loss.SOFTMAX_CROSS_ENTROPY);
        System.setProperty(ChainTrainer.DISABLE_PROPERTY, "true");
        try {
            assertNull(ChainTrainer.forNetwork(spec.build(2, new Adam(1e-2), DataType.FLOAT)));
        } finally {
            System.clearProperty(ChainTrainer.DISABLE_PROPERTY);
        }
        assertNotNull(ChainTrainer.forNetwork(spec.build(2, new Adam(1e-2), DataType.FLOAT)));
    }
}

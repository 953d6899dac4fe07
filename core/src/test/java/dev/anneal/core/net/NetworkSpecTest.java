package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;

class NetworkSpecTest {

    private static final MlpSpec MLP = new MlpSpec(4, List.of(5, 6), 3, Loss.SOFTMAX_CROSS_ENTROPY);
    private static final CnnSpec CNN = new CnnSpec(12, 12, 1, List.of(2, 3), 3, 8, 4, Loss.SOFTMAX_CROSS_ENTROPY);
    private static final LstmLanguageModelSpec LSTM = new LstmLanguageModelSpec(5, 3, 4, 2);

    @Test
    void networksKeepForwardResultsForBackpropWithoutChangingTheArithmetic() {
        // The cache spares the CNN's convolutions a second im2col in backprop (docs/BENCHMARKS.md); training with it
        // must give exactly what training without it gives.
        for (NetworkSpec spec : List.<NetworkSpec>of(MLP, CNN, LSTM)) {
            ComputationGraphConfiguration cached = spec.configuration(7, new Adam(1e-2), DataType.DOUBLE);
            assertEquals(CacheMode.DEVICE, cached.getCacheMode(), spec.kind());
            String json = cached.toJson();
            assertTrue(json.contains("\"cacheMode\" : \"DEVICE\""), spec.kind());
            ComputationGraph with = new ComputationGraph(cached);
            ComputationGraph without = new ComputationGraph(ComputationGraphConfiguration.fromJson(
                    json.replace("\"cacheMode\" : \"DEVICE\"", "\"cacheMode\" : \"NONE\"")));
            with.init();
            without.init();
            assertEquals(CacheMode.NONE, without.getConfiguration().getCacheMode());
            without.setParams(with.params().dup());
            DataSet batch = batchFor(spec);
            for (int i = 0; i < 3; i++) {
                with.fit(batch);
                without.fit(batch);
            }
            assertEquals(without.params(), with.params(), spec.kind());
        }
    }

    @Test
    void mlpNamesItsLayersInOrder() {
        assertEquals(List.of("dense_0", "dense_1"), MLP.encoderLayers());
        assertEquals("dense_1", MLP.encoderOutput());
        assertEquals("head", MLP.headLayer());
        assertEquals("mlp", MLP.kind());
        assertEquals(Loss.SOFTMAX_CROSS_ENTROPY, MLP.loss());
        assertChain(MLP);
    }

    @Test
    void mlpWithoutHiddenLayersAttachesTheHeadToTheInput() {
        MlpSpec linear = new MlpSpec(4, List.of(), 1, Loss.BINARY_CROSS_ENTROPY);
        assertEquals(List.of(), linear.encoderLayers());
        assertEquals(NetworkSpec.INPUT, linear.encoderOutput());
        assertChain(linear);
    }

    @Test
    void cnnNamesItsLayersInOrder() {
        assertEquals(List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense"), CNN.encoderLayers());
        assertEquals("dense", CNN.encoderOutput());
        assertEquals("cnn", CNN.kind());
        assertChain(CNN);
    }

    @Test
    void lstmNamesItsLayersInOrder() {
        assertEquals(List.of("embedding", "lstm_0", "lstm_1"), LSTM.encoderLayers());
        assertEquals("lstm_1", LSTM.encoderOutput());
        assertEquals("lstm-lm", LSTM.kind());
        assertEquals(Loss.SOFTMAX_CROSS_ENTROPY, LSTM.loss());
        assertChain(LSTM);
    }

    @Test
    void forwardPassShapes() {
        ComputationGraph mlp = MLP.build(1, new Adam(1e-3), DataType.FLOAT);
        assertArrayEquals(new long[] {2, 3}, mlp.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 4)).shape());

        ComputationGraph cnn = CNN.build(1, new Adam(1e-3), DataType.FLOAT);
        assertEquals(144, CNN.flatInputSize());
        assertArrayEquals(new long[] {2, 4}, cnn.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 144)).shape());

        ComputationGraph lstm = LSTM.build(1, new Adam(1e-3), DataType.FLOAT);
        // The sequence length is read from each minibatch.
        for (int length : new int[] {3, 7}) {
            INDArray tokens = Nd4j.create(DataType.FLOAT, 2, 1, length).assign(4);
            INDArray out = lstm.outputSingle(tokens);
            assertArrayEquals(new long[] {2, 5, length}, out.shape());
            assertEquals(2.0 * length, out.sumNumber().doubleValue(), 1e-4, "softmax over the vocabulary");
        }
    }

    @Test
    void parameterCountsMatchHandCounts() {
        // weights + biases per layer: 4→5, 5→6, 6→3
        assertEquals((4 * 5 + 5) + (5 * 6 + 6) + (6 * 3 + 3), MLP.build(1, new NoOp(), DataType.FLOAT).numParams());

        // conv 3×3×1→2 (+2 biases); 6×6 → 4×4 → pool 2×2, so dense sees 2·2·2 = 8 inputs
        CnnSpec cnn = new CnnSpec(6, 6, 1, List.of(2), 3, 4, 3, Loss.SOFTMAX_CROSS_ENTROPY);
        assertEquals((3 * 3 * 1 * 2 + 2) + (8 * 4 + 4) + (4 * 3 + 3), cnn.build(1, new NoOp(), DataType.FLOAT).numParams());

        // embedding table without bias; LSTM: input and recurrent weights and bias for 4 gates
        LstmLanguageModelSpec lm = new LstmLanguageModelSpec(5, 3, 4, 1);
        assertEquals(5 * 3 + 4 * 4 * (3 + 4 + 1) + (4 * 5 + 5), lm.build(1, new NoOp(), DataType.FLOAT).numParams());
    }

    @Test
    void spatialValidationAgreesWithDl4jShapeInference() {
        // Odd sizes: 7×9 → conv 5×7 → pool 2×3 (floored), so dense sees 2·2·3 = 12 inputs.
        CnnSpec odd = new CnnSpec(7, 9, 1, List.of(2), 3, 4, 3, Loss.SOFTMAX_CROSS_ENTROPY);
        ComputationGraph graph = odd.build(1, new NoOp(), DataType.FLOAT);
        assertEquals((3 * 3 * 2 + 2) + (12 * 4 + 4) + (4 * 3 + 3), graph.numParams());
        assertArrayEquals(new long[] {1, 3}, graph.outputSingle(Nd4j.rand(DataType.FLOAT, 1, 63)).shape());

        // The smallest accepted input: 4×4 → conv 2×2 → pool 1×1.
        CnnSpec smallest = new CnnSpec(4, 4, 2, List.of(3), 3, 4, 3, Loss.SOFTMAX_CROSS_ENTROPY);
        assertArrayEquals(new long[] {1, 3},
                smallest.build(1, new NoOp(), DataType.FLOAT).outputSingle(Nd4j.rand(DataType.FLOAT, 1, 32)).shape());
        assertThrows(IllegalArgumentException.class,
                () -> new CnnSpec(3, 4, 2, List.of(3), 3, 4, 3, Loss.SOFTMAX_CROSS_ENTROPY));
    }

    @Test
    void sameSeedGivesSameParametersAndOtherSeedsDiffer() {
        for (NetworkSpec spec : List.<NetworkSpec>of(MLP, CNN, LSTM)) {
            INDArray a = spec.build(42, new NoOp(), DataType.FLOAT).params();
            INDArray b = spec.build(42, new NoOp(), DataType.FLOAT).params();
            INDArray c = spec.build(43, new NoOp(), DataType.FLOAT).params();
            assertEquals(a, b, spec.kind());
            assertNotEquals(a, c, spec.kind());
        }
    }

    @Test
    void dataTypeIsTheRequestedOne() {
        assertEquals(DataType.FLOAT, MLP.build(1, new NoOp(), DataType.FLOAT).params().dataType());
        assertEquals(DataType.DOUBLE, LSTM.build(1, new NoOp(), DataType.DOUBLE).params().dataType());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MLP.configuration(1, new NoOp(), DataType.INT32));
        assertTrue(e.getMessage().startsWith("dataType"), e.getMessage());
    }

    @Test
    void validationNamesTheField() {
        assertMessage("nIn must be > 0, got 0", () -> new MlpSpec(0, List.of(5), 3, Loss.MSE));
        assertMessage("hidden[1] must be > 0, got -3", () -> new MlpSpec(4, List.of(5, -3), 3, Loss.MSE));
        assertMessage("nOut must be > 0, got 0", () -> new MlpSpec(4, List.of(5), 0, Loss.MSE));
        assertMessage("nOut must be >= 2 with loss softmax-cross-entropy, got 1",
                () -> new MlpSpec(4, List.of(5), 1, Loss.SOFTMAX_CROSS_ENTROPY));
        assertThrows(NullPointerException.class, () -> new MlpSpec(4, List.of(5), 3, null));
        assertThrows(NullPointerException.class, () -> new MlpSpec(4, null, 3, Loss.MSE));

        assertMessage("channels must be > 0, got 0",
                () -> new CnnSpec(6, 6, 0, List.of(2), 3, 4, 3, Loss.MSE));
        assertMessage("convChannels must not be empty",
                () -> new CnnSpec(6, 6, 1, List.of(), 3, 4, 3, Loss.MSE));
        assertMessage("kernelSize 6 is too large for a 6x6 input: conv_0 would output 1x1, but pool_0 needs at "
                + "least 2x2", () -> new CnnSpec(6, 6, 1, List.of(2), 6, 4, 3, Loss.MSE));
        assertMessage("kernelSize 3 is too large for a 6x6 input: conv_1 would output 0x0, but pool_1 needs at "
                + "least 2x2", () -> new CnnSpec(6, 6, 1, List.of(2, 2), 3, 4, 3, Loss.MSE));
        // Odd sizes are floored by the pooling, as DL4J's Truncate mode does: 7 → 5 → 2 → 0 fails at conv_1.
        assertMessage("kernelSize 3 is too large for a 7x9 input: conv_1 would output 0x1, but pool_1 needs at "
                + "least 2x2", () -> new CnnSpec(7, 9, 1, List.of(2, 2), 3, 4, 3, Loss.MSE));

        assertMessage("vocabSize must be >= 2, got 1", () -> new LstmLanguageModelSpec(1, 3, 4, 1));
        assertMessage("embeddingSize must be > 0, got 0", () -> new LstmLanguageModelSpec(5, 0, 4, 1));
        assertMessage("hiddenSize must be > 0, got -3", () -> new LstmLanguageModelSpec(5, 3, -3, 1));
        assertMessage("layers must be > 0, got 0", () -> new LstmLanguageModelSpec(5, 3, 4, 0));
    }

    @Test
    void specsAreImmutable() {
        List<Integer> hidden = new ArrayList<>(List.of(5));
        MlpSpec spec = new MlpSpec(4, hidden, 3, Loss.MSE);
        hidden.add(7);
        assertEquals(List.of(5), spec.hidden());
        assertThrows(UnsupportedOperationException.class, () -> spec.hidden().add(1));
        assertThrows(UnsupportedOperationException.class, () -> spec.encoderLayers().add("x"));
        assertEquals(new MlpSpec(4, List.of(5), 3, Loss.MSE), spec);
    }

    @Test
    void layerNamesCannotBeReused() {
        LayerChain chain = new LayerChain(1, new NoOp(), DataType.FLOAT, InputType.feedForward(2));
        chain.add("a", new DenseLayer.Builder().nOut(2).build());
        IllegalStateException repeated = assertThrows(IllegalStateException.class,
                () -> chain.add("a", new DenseLayer.Builder().nOut(2).build()));
        assertTrue(repeated.getMessage().contains("'a'"), repeated.getMessage());
        assertThrows(IllegalStateException.class,
                () -> chain.add(NetworkSpec.INPUT, new DenseLayer.Builder().nOut(2).build()));
    }

    @Test
    void paddingIsMaskedOutOfTheLanguageModelGradient() {
        // The raw DL4J gradient is a sum over the minibatch, so with correct masking a padded two-sequence batch
        // has exactly the gradient of the two sequences taken one at a time.
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(5, 3, 4, 1);
        ComputationGraph graph = spec.build(3, new NoOp(), DataType.DOUBLE);
        int[] longer = {0, 1, 2, 3, 4};
        int[] shorter = {4, 2, 1};

        INDArray batch = gradient(graph, LanguageModelBatches.languageModelBatch(new int[][] {longer, shorter}, 5));
        double batchScore = graph.score();
        INDArray first = gradient(graph, LanguageModelBatches.languageModelBatch(new int[][] {longer}, 5));
        double firstScore = graph.score();
        INDArray second = gradient(graph, LanguageModelBatches.languageModelBatch(new int[][] {shorter}, 5));
        double secondScore = graph.score();

        INDArray expected = first.add(second);
        double relativeError = batch.sub(expected).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
        assertTrue(relativeError < 1e-10, "relative error " + relativeError);
        // The score is the mean over sequences, not over unmasked tokens.
        assertEquals((firstScore + secondScore) / 2, batchScore, 1e-12);
    }

    @Test
    void languageModelTrainsInFloatOnPaddedBatches() {
        ComputationGraph graph = new LstmLanguageModelSpec(5, 4, 8, 1).build(5, new Adam(0.05), DataType.FLOAT);
        DataSet batch = LanguageModelBatches.languageModelBatch(
                new int[][] {{0, 1, 2, 3, 4, 0, 1}, {2, 3, 4, 0}, {4, 0, 1, 2, 3, 4, 0}}, 5);
        double before = graph.score(batch);
        for (int i = 0; i < 60; i++) {
            graph.fit(batch);
        }
        double after = graph.score(batch);
        assertTrue(after < 0.5 * before, "score " + before + " -> " + after);
    }

    /** A small batch of double-precision inputs and targets for {@code spec}, one of this class's networks. */
    private static DataSet batchFor(NetworkSpec spec) {
        DataSet batch;
        if (spec == LSTM) {
            batch = LanguageModelBatches.languageModelBatch(new int[][] {{0, 1, 2, 3, 4, 0}, {4, 3, 2, 1, 0, 4}}, 5);
        } else {
            int pixels = spec == CNN ? 144 : 4;
            int classes = spec == CNN ? 4 : 3;
            byte[][] images = new byte[3][pixels];
            float[][] targets = new float[3][classes];
            java.util.Random random = new java.util.Random(11);
            for (int i = 0; i < images.length; i++) {
                random.nextBytes(images[i]);
                targets[i][i % classes] = 1;
            }
            batch = ImageBatches.of(images, targets, pixels);
        }
        return new DataSet(batch.getFeatures().castTo(DataType.DOUBLE), batch.getLabels().castTo(DataType.DOUBLE),
                batch.getFeaturesMaskArray() == null ? null : batch.getFeaturesMaskArray().castTo(DataType.DOUBLE),
                batch.getLabelsMaskArray() == null ? null : batch.getLabelsMaskArray().castTo(DataType.DOUBLE));
    }

    private static INDArray gradient(ComputationGraph graph, DataSet data) {
        graph.setInputs(data.getFeatures().castTo(DataType.DOUBLE));
        graph.setLabels(data.getLabels().castTo(DataType.DOUBLE));
        INDArray featureMask = data.getFeaturesMaskArray();
        INDArray labelMask = data.getLabelsMaskArray();
        graph.setLayerMaskArrays(featureMask == null ? null : new INDArray[] {featureMask.castTo(DataType.DOUBLE)},
                labelMask == null ? null : new INDArray[] {labelMask.castTo(DataType.DOUBLE)});
        graph.computeGradientAndScore();
        INDArray gradient = graph.getGradientsViewArray().dup();
        graph.clearLayerMaskArrays();
        return gradient;
    }

    /** The graph is the chain input → encoder layers → head, with nothing else in it. */
    private static void assertChain(NetworkSpec spec) {
        ComputationGraphConfiguration conf = spec.configuration(1, new NoOp(), DataType.FLOAT);
        assertEquals(List.of(NetworkSpec.INPUT), conf.getNetworkInputs());
        assertEquals(List.of(spec.headLayer()), conf.getNetworkOutputs());

        Map<String, List<String>> inputs = conf.getVertexInputs();
        List<String> path = new ArrayList<>();
        for (String v = spec.headLayer(); !v.equals(NetworkSpec.INPUT); v = inputs.get(v).get(0)) {
            assertEquals(1, inputs.get(v).size(), v);
            path.add(v);
        }
        Collections.reverse(path);
        List<String> expected = new ArrayList<>(spec.encoderLayers());
        expected.add(spec.headLayer());
        assertEquals(expected, path);
        assertEquals(expected.size(), conf.getVertices().size());
        assertEquals(List.of(spec.encoderOutput()), inputs.get(spec.headLayer()));
    }

    private static void assertMessage(String expected, Supplier<?> construction) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construction::get, expected);
        assertEquals(expected, e.getMessage());
    }
}

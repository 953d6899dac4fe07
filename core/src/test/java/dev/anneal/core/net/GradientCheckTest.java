package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

/** DL4J's finite-difference gradient check, in double precision, on a tiny instance of every network kind. */
class GradientCheckTest {

    private static final long SEED = 12345;

    private static DataType savedDataType;
    private static DataType savedFloatType;

    @BeforeAll
    static void doublePrecision() {
        // GradientCheckUtil refuses to run unless ND4J's global default is DOUBLE.
        savedDataType = Nd4j.dataType();
        savedFloatType = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restorePrecision() {
        Nd4j.setDefaultDataTypes(savedDataType, savedFloatType);
    }

    @Test
    void mlpWithBinaryCrossEntropy() {
        MlpSpec spec = new MlpSpec(4, List.of(5), 1, Loss.BINARY_CROSS_ENTROPY);
        check(spec, gaussian(new long[] {6, 4}, 1), zeroOneLabels(6, 1, 2));
    }

    @Test
    void mlpWithSoftmaxCrossEntropy() {
        MlpSpec spec = new MlpSpec(4, List.of(5), 3, Loss.SOFTMAX_CROSS_ENTROPY);
        check(spec, gaussian(new long[] {6, 4}, 3), oneHot(6, 3, 4));
    }

    @Test
    void mlpWithMse() {
        MlpSpec spec = new MlpSpec(4, List.of(5), 3, Loss.MSE);
        check(spec, gaussian(new long[] {6, 4}, 5), gaussian(new long[] {6, 3}, 6));
    }

    @Test
    void cnnWithSoftmaxCrossEntropy() {
        CnnSpec spec = new CnnSpec(6, 6, 1, List.of(2), 3, 4, 3, Loss.SOFTMAX_CROSS_ENTROPY);
        check(spec, gaussian(new long[] {3, spec.flatInputSize()}, 7), oneHot(3, 3, 8));
    }

    @Test
    void cnnAutoencoderReconstructingPixels() {
        // 10x9 -> conv 9x8 -> pool 4x4 -> conv 3x3 -> pool 1x1: both decoder blocks pad (a row, then a row and a
        // column), so every kind of decoder layer is checked. The targets are the pixels themselves, in [0, 1].
        CnnAutoencoderSpec spec = new CnnAutoencoderSpec(10, 9, 1, List.of(2, 2), 2, 3);
        assertEquals(List.of("decoder_dense", "decoder_up_1", "decoder_pad_1", "decoder_deconv_1", "decoder_up_0",
                "decoder_pad_0", "decoder_deconv_0"), spec.decoderLayers());
        Random random = new Random(9);
        double[] values = new double[3 * spec.flatInputSize()];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextDouble();
        }
        INDArray pixels = Nd4j.create(values, new long[] {3, spec.flatInputSize()}, DataType.DOUBLE);
        ComputationGraph graph = spec.build(SEED, new NoOp(), DataType.DOUBLE);
        // A transposed convolution's outputs that read only padding are its bias; at DL4J's initial bias of 0 they
        // sit exactly on ReLU's kink, where the one-sided analytic derivative (0) and the central difference
        // disagree by construction. Biases off zero keep every unit on one side of it.
        for (org.deeplearning4j.nn.api.Layer layer : graph.getLayers()) {
            if (layer.paramTable().containsKey("b")) {
                layer.getParam("b").assign(0.05);
            }
        }
        assertTrue(GradientCheckUtil.checkGradients(config(graph, pixels, pixels)),
                "gradient check failed for " + spec);
    }

    @Test
    void lstmLanguageModel() {
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(5, 3, 4, 1);
        DataSet batch = LanguageModelBatches.languageModelBatch(new int[][] {{0, 1, 2, 3, 4}, {4, 2, 2, 0, 1}}, 5);
        check(spec, batch.getFeatures().castTo(DataType.DOUBLE), batch.getLabels().castTo(DataType.DOUBLE));
    }

    @Test
    void lstmLanguageModelWithPaddedSequence() {
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(5, 3, 4, 1);
        // The second window is two tokens shorter, so its last two steps are padding.
        DataSet batch = LanguageModelBatches.languageModelBatch(new int[][] {{0, 1, 2, 3, 4}, {4, 2, 1}}, 5);
        INDArray mask = batch.getFeaturesMaskArray().castTo(DataType.DOUBLE);
        assertEquals(4 + 2, mask.sumNumber().doubleValue());
        assertEquals(0.0, mask.getDouble(1, 2));

        ComputationGraph graph = spec.build(SEED, new NoOp(), DataType.DOUBLE);
        boolean ok = GradientCheckUtil.checkGradients(config(graph,
                batch.getFeatures().castTo(DataType.DOUBLE), batch.getLabels().castTo(DataType.DOUBLE))
                .inputMask(new INDArray[] {mask})
                .labelMask(new INDArray[] {batch.getLabelsMaskArray().castTo(DataType.DOUBLE)}));
        assertTrue(ok, "gradient check failed for the LSTM language model with a padded sequence");
    }

    @Test
    void checkFailsWhenPaddingIsNotMasked() {
        // Shows the padded check above is not vacuous: unmasked, the padded steps have all-zero labels, where the
        // softmax cross-entropy score is 0 but DL4J's analytic gradient (p − t) is not.
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(5, 3, 4, 1);
        DataSet batch = LanguageModelBatches.languageModelBatch(new int[][] {{0, 1, 2, 3, 4}, {4, 2, 1}}, 5);
        ComputationGraph graph = spec.build(SEED, new NoOp(), DataType.DOUBLE);
        boolean ok = GradientCheckUtil.checkGradients(config(graph,
                batch.getFeatures().castTo(DataType.DOUBLE), batch.getLabels().castTo(DataType.DOUBLE))
                .exitOnFirstError(true));
        assertFalse(ok);
    }

    private static void check(NetworkSpec spec, INDArray features, INDArray labels) {
        ComputationGraph graph = spec.build(SEED, new NoOp(), DataType.DOUBLE);
        boolean ok = GradientCheckUtil.checkGradients(config(graph, features, labels));
        assertTrue(ok, "gradient check failed for " + spec);
    }

    private static GradientCheckUtil.GraphConfig config(ComputationGraph graph, INDArray features,
                                                        INDArray labels) {
        return new GradientCheckUtil.GraphConfig()
                .net(graph)
                .inputs(new INDArray[] {features})
                .labels(new INDArray[] {labels})
                // The thresholds DL4J's own gradient-check tests use in double precision.
                .epsilon(1e-6)
                .maxRelError(1e-3)
                .minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY)
                .exitOnFirstError(false);
    }

    private static INDArray gaussian(long[] shape, long seed) {
        Random random = new Random(seed);
        int length = 1;
        for (long s : shape) {
            length *= (int) s;
        }
        double[] values = new double[length];
        for (int i = 0; i < length; i++) {
            values[i] = random.nextGaussian();
        }
        return Nd4j.create(values, shape, DataType.DOUBLE);
    }

    private static INDArray zeroOneLabels(int rows, int columns, long seed) {
        Random random = new Random(seed);
        double[] values = new double[rows * columns];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextBoolean() ? 1 : 0;
        }
        return Nd4j.create(values, new long[] {rows, columns}, DataType.DOUBLE);
    }

    private static INDArray oneHot(int rows, int classes, long seed) {
        Random random = new Random(seed);
        double[] values = new double[rows * classes];
        for (int r = 0; r < rows; r++) {
            values[r * classes + random.nextInt(classes)] = 1;
        }
        return Nd4j.create(values, new long[] {rows, classes}, DataType.DOUBLE);
    }
}

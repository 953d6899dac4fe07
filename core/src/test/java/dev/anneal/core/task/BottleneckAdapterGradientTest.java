package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** DL4J's finite-difference gradient check, in double precision, through the adapters and the layers below. */
class BottleneckAdapterGradientTest {
    private static DataType savedDataType;
    private static DataType savedFloatType;

    @BeforeAll
    static void doublePrecision() {
        savedDataType = Nd4j.dataType();
        savedFloatType = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restorePrecision() {
        Nd4j.setDefaultDataTypes(savedDataType, savedFloatType);
    }

    /** input [2, 3, 4] -> LSTM 5 -> adapter (bottleneck 2) -> per-step MSE output of width 3. */
    private static ComputationGraph network(boolean randomUp) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder()
                .seed(5)
                .dataType(DataType.DOUBLE)
                .updater(new NoOp())
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.recurrent(3))
                .addLayer("lstm", new LSTM.Builder().nOut(5).activation(Activation.TANH).build(), "in");
        BottleneckAdapter.add(b, "adapter", "lstm", 5, 2);
        b.addLayer("out", new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(3)
                        .activation(Activation.IDENTITY).dataFormat(RNNFormat.NCW).build(), "adapter")
                .setOutputs("out");
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        if (randomUp) {
            // A fresh adapter's up-projection is 0, which would leave the down-projection's gradient at 0 too.
            Nd4j.getRandom().setSeed(9);
            INDArray up = g.getLayer("adapter_up").params();
            up.assign(Nd4j.randn(DataType.DOUBLE, up.shape()));
            // A bias that keeps some of the ReLUs off, so both sides of the kink are exercised.
            g.getLayer("adapter_down").getParam("b").assign(Nd4j.create(new double[] {0.3, -0.3}).reshape(2));
        }
        return g;
    }

    @Test
    void aMaskedSequenceChecksToo() {
        ComputationGraph g = network(true);
        Nd4j.getRandom().setSeed(6);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 4);
        INDArray y = Nd4j.randn(DataType.DOUBLE, 2, 3, 4);
        INDArray mask = Nd4j.create(new double[][] {{1, 1, 1, 1}, {1, 1, 0, 0}});
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                .net(g).inputs(new INDArray[] {x}).labels(new INDArray[] {y})
                .inputMask(new INDArray[] {mask}).labelMask(new INDArray[] {mask})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY).exitOnFirstError(false));
        assertTrue(ok, "gradient check failed for the bottleneck adapter with a padded sequence");
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        ComputationGraph g = network(true);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 4);
        INDArray y = Nd4j.randn(DataType.DOUBLE, 2, 3, 4);
        assertGradientsMatch(g, x, y, "the bottleneck adapter");
    }

    @Test
    void aFreshAdapterIsTheIdentity() {
        ComputationGraph g = network(false);
        Nd4j.getRandom().setSeed(4);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 4);
        java.util.Map<String, INDArray> acts = g.feedForward(x, false);
        assertEquals(acts.get("lstm"), acts.get("adapter"));
        assertEquals(BottleneckAdapter.parameters(5, 2),
                g.getLayer("adapter_down").numParams() + g.getLayer("adapter_up").numParams());
    }

    /**
     * input [2, 2, 5, 5] -> conv 2x2, 3 channels -> adapter (1x1 convolutions, bottleneck 2) -> dense 4 -> adapter
     * (dense, bottleneck 2) -> softmax output of 3: both image-encoder adapters and the layers below them.
     */
    private static ComputationGraph imageNetwork(boolean randomUp) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder()
                .seed(5)
                .dataType(DataType.DOUBLE)
                .updater(new NoOp())
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(5, 5, 2));
        ConvolutionLayer conv = new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build();
        DenseLayer dense = new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build();
        b.addLayer("conv", conv, "in");
        BottleneckAdapter.add(b, "adapter_conv", "conv", conv, 3, 2);
        b.addLayer("dense", dense, "adapter_conv");
        BottleneckAdapter.add(b, "adapter_dense", "dense", dense, 4, 2);
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "adapter_dense")
                .setOutputs("out");
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        if (randomUp) {
            Nd4j.getRandom().setSeed(9);
            for (String adapter : new String[] {"adapter_conv", "adapter_dense"}) {
                INDArray up = g.getLayer(adapter + "_up").params();
                up.assign(Nd4j.randn(DataType.DOUBLE, up.shape()));
                // One bottleneck unit biased off, so both sides of the ReLU's kink are exercised.
                g.getLayer(adapter + "_down").getParam("b").assign(Nd4j.create(new double[] {0.3, -0.3}).reshape(
                        g.getLayer(adapter + "_down").getParam("b").shape()));
            }
        }
        return g;
    }

    @Test
    void theConvolutionAndDenseAdaptersGradientsMatchFiniteDifferences() {
        ComputationGraph g = imageNetwork(true);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 2, 5, 5);
        INDArray y = Nd4j.create(new double[][] {{0, 1, 0}, {0, 0, 1}});
        assertGradientsMatch(g, x, y, "the convolution and dense adapters");
    }

    @Test
    void freshImageAdaptersAreTheIdentity() {
        ComputationGraph g = imageNetwork(false);
        Nd4j.getRandom().setSeed(4);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 2, 5, 5);
        java.util.Map<String, INDArray> acts = g.feedForward(x, false);
        assertArrayEquals(new long[] {2, 3, 4, 4}, acts.get("adapter_conv").shape(), "NCHW, 3 channels");
        assertEquals(acts.get("conv"), acts.get("adapter_conv"));
        assertEquals(acts.get("dense"), acts.get("adapter_dense"));
        assertEquals(BottleneckAdapter.parameters(3, 2),
                g.getLayer("adapter_conv_down").numParams() + g.getLayer("adapter_conv_up").numParams());
        assertEquals(BottleneckAdapter.parameters(4, 2),
                g.getLayer("adapter_dense_down").numParams() + g.getLayer("adapter_dense_up").numParams());
    }

    /** DL4J's gradient check in double precision: every parameter's gradient against central differences. */
    private static void assertGradientsMatch(ComputationGraph g, INDArray x, INDArray y, String what) {
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                .net(g).inputs(new INDArray[] {x}).labels(new INDArray[] {y})
                .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY).exitOnFirstError(false));
        assertTrue(ok, "gradient check failed for " + what);
    }
}

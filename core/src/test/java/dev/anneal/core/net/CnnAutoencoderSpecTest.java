package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;

class CnnAutoencoderSpecTest {

    @Test
    void reconstructsExactlyTheInputSizeForEvenOddAndColourImages() {
        // 28x28: 26 -> 13 (odd: padded back) -> 11 -> 5 (odd again); 32x32x3: even pools; 27x29: odd everywhere.
        record Case(int h, int w, int c, List<Integer> channels, int k, List<String> pads) {
        }
        for (Case t : List.of(
                new Case(28, 28, 1, List.of(4, 8), 3, List.of("decoder_pad_1")),
                new Case(32, 32, 3, List.of(4, 8), 3, List.of("decoder_pad_1")),
                new Case(32, 32, 3, List.of(4), 5, List.of()),
                new Case(27, 29, 1, List.of(3, 5), 3, List.of("decoder_pad_1", "decoder_pad_0")),
                new Case(4, 4, 2, List.of(3), 3, List.of()))) {
            CnnAutoencoderSpec spec = new CnnAutoencoderSpec(t.h, t.w, t.c, t.channels, t.k, 6);
            ComputationGraph graph = spec.build(1, new Adam(1e-3), DataType.FLOAT);
            INDArray out = graph.outputSingle(Nd4j.rand(DataType.FLOAT, 2, spec.flatInputSize()));
            String what = t.h + "x" + t.w + "x" + t.c + " " + t.channels + " k" + t.k;
            assertArrayEquals(new long[] {2, (long) t.c * t.h * t.w}, out.shape(), what);
            assertTrue(out.minNumber().doubleValue() > 0 && out.maxNumber().doubleValue() < 1,
                    "sigmoid outputs, " + what);
            assertEquals(t.pads, spec.decoderLayers().stream().filter(n -> n.startsWith("decoder_pad")).toList(),
                    "padding exactly where pooling floored an odd size, " + what);
        }
    }

    @Test
    void namesItsPartsAndTheHeadIsAParameterFreeLoss() {
        CnnAutoencoderSpec spec = new CnnAutoencoderSpec(27, 29, 1, List.of(3, 5), 3, 6);
        assertEquals("cnn-autoencoder", spec.kind());
        assertEquals(List.of("conv_0", "pool_0", "conv_1", "pool_1", "dense"), spec.encoderLayers());
        assertEquals("dense", spec.encoderOutput());
        assertEquals(List.of("decoder_dense", "decoder_up_1", "decoder_pad_1", "decoder_deconv_1", "decoder_up_0",
                "decoder_pad_0", "decoder_deconv_0"), spec.decoderLayers());
        assertEquals(Loss.BINARY_CROSS_ENTROPY, spec.loss());
        ComputationGraph graph = spec.build(1, new NoOp(), DataType.FLOAT);
        List<String> layers = new ArrayList<>(spec.encoderLayers());
        layers.addAll(spec.decoderLayers());
        layers.add(NetworkSpec.HEAD);
        assertEquals(layers, Arrays.stream(graph.getLayers()).map(l -> l.conf().getLayer().getLayerName()).toList());
        assertEquals(0, graph.getLayer(NetworkSpec.HEAD).numParams());
        assertEquals(List.of(NetworkSpec.HEAD), graph.getConfiguration().getNetworkOutputs());
        // 27x29 -> conv 25x27 -> pool 12x13 -> conv 10x11 -> pool 5x5: decoder_dense widens 6 to 5 maps of 5x5.
        assertEquals(6L * 5 * 5 * 5 + 5 * 5 * 5, graph.getLayer("decoder_dense").numParams());
        assertEquals(3 * 3 * 5 * 3 + 3, graph.getLayer("decoder_deconv_1").numParams());
        assertEquals(3 * 3 * 3 * 1 + 1, graph.getLayer("decoder_deconv_0").numParams());
    }

    @Test
    void theEncoderIsCnnSpecsLayerForLayerWithTheSameInitialWeights() {
        CnnAutoencoderSpec autoencoder = new CnnAutoencoderSpec(28, 28, 1, List.of(4, 8), 3, 16, 0.3);
        CnnSpec cnn = new CnnSpec(28, 28, 1, List.of(4, 8), 3, 16, 5, Loss.SOFTMAX_CROSS_ENTROPY, 0.3);
        assertEquals(cnn.encoderLayers(), autoencoder.encoderLayers());
        ComputationGraph a = autoencoder.build(7, new Adam(1e-3), DataType.FLOAT);
        ComputationGraph c = cnn.build(7, new Adam(1e-3), DataType.FLOAT);
        for (String name : cnn.encoderLayers()) {
            assertEquals(c.getLayer(name).conf().getLayer(), a.getLayer(name).conf().getLayer(), name);
            assertEquals(c.getLayer(name).paramTable().keySet(), a.getLayer(name).paramTable().keySet(), name);
            for (String p : c.getLayer(name).paramTable().keySet()) {
                assertArrayEquals(c.getLayer(name).getParam(p).shape(), a.getLayer(name).getParam(p).shape(),
                        name + " " + p);
            }
            // DL4J initialises layers in topological order from the seed, and the encoder comes first in both.
            assertEquals(c.getLayer(name).params(), a.getLayer(name).params(), name + " initial weights");
        }
    }

    @Test
    void theOutputRowIsInTheInputsPixelOrder() {
        // The input reshape to [c, h, w] and the head's flattening back are each other's inverse, so output j
        // reconstructs input pixel j.
        CnnAutoencoderSpec spec = new CnnAutoencoderSpec(5, 7, 2, List.of(2), 3, 4);
        ComputationGraphConfiguration conf = spec.configuration(1, new NoOp(), DataType.FLOAT);
        LayerVertex first = (LayerVertex) conf.getVertices().get("conv_0");
        LayerVertex head = (LayerVertex) conf.getVertices().get(NetworkSpec.HEAD);
        INDArray x = Nd4j.linspace(DataType.FLOAT, 1, 2 * 70, 1).reshape(2, 70);
        INDArray map = first.getPreProcessor().preProcess(x.dup(), 2, LayerWorkspaceMgr.noWorkspaces());
        assertArrayEquals(new long[] {2, 2, 5, 7}, map.shape());
        assertEquals(x.getFloat(0, 7 * 5 + 7 + 3), map.getFloat(0, 1, 1, 3), "pixel [c=1][y=1][x=3]");
        assertEquals(x, head.getPreProcessor().preProcess(map, 2, LayerWorkspaceMgr.noWorkspaces()));
    }

    @Test
    void sizesThatCannotBeMirroredAreRefusedNamingTheBlock() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CnnAutoencoderSpec(7, 9, 1, List.of(2, 2), 3, 4));
        assertEquals("kernelSize 3 is too large for a 7x9 input: conv_1 would output 0x1, but pool_1 needs at least "
                + "2x2", e.getMessage());
        assertEquals("convChannels must not be empty",
                assertThrows(IllegalArgumentException.class,
                        () -> new CnnAutoencoderSpec(6, 6, 1, List.of(), 3, 4)).getMessage());
        assertEquals("dropout must be in [0, 1), got 1.0",
                assertThrows(IllegalArgumentException.class,
                        () -> new CnnAutoencoderSpec(6, 6, 1, List.of(2), 3, 4, 1.0)).getMessage());
    }
}

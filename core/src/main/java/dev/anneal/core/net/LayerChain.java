package dev.anneal.core.net;

import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/** Builds a single-path graph configuration where each layer feeds the next, refusing repeated names. */
final class LayerChain {

    private final ComputationGraphConfiguration.GraphBuilder builder;
    private final Set<String> names = new HashSet<>();
    private String last = NetworkSpec.INPUT;

    LayerChain(long seed, IUpdater updater, DataType dataType, InputType inputType) {
        Objects.requireNonNull(updater, "updater");
        Objects.requireNonNull(dataType, "dataType");
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException("dataType must be a floating-point type, got " + dataType);
        }
        builder = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(updater)
                .weightInit(WeightInit.XAVIER)
                .dataType(dataType)
                .cacheMode(CacheMode.DEVICE)
                // Valid convolutions/pooling: CnnSpec validates the spatial sizes up front, so DL4J's Strict mode
                // would only add a second, less readable error.
                .convolutionMode(ConvolutionMode.Truncate)
                .graphBuilder()
                .addInputs(NetworkSpec.INPUT)
                .setInputTypes(inputType);
        names.add(NetworkSpec.INPUT);
    }

    /** Appends a layer fed by the previous one. */
    LayerChain add(String name, Layer layer) {
        return add(name, layer, null);
    }

    /**
     * Appends a layer fed by the previous one through {@code preProcessor}, for a reshape DL4J does not infer (a
     * flat vector into a feature map); {@code null} for the one DL4J infers, if any.
     */
    LayerChain add(String name, Layer layer, InputPreProcessor preProcessor) {
        // DL4J M2.1 rejects a repeated vertex name but not a layer named like a graph input; checking here covers
        // both, before DL4J has half-built anything.
        if (!names.add(name)) {
            throw new IllegalStateException("layer name '" + name + "' is already used in this network");
        }
        builder.addLayer(name, layer, preProcessor, last);
        last = name;
        return this;
    }

    /** The configuration, with the last added layer as the graph's output. */
    ComputationGraphConfiguration build() {
        return builder.setOutputs(last).build();
    }
}

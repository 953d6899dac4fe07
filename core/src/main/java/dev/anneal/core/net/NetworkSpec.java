package dev.anneal.core.net;

import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * An immutable description of a network architecture that builds a DL4J {@link ComputationGraph} whose encoder
 * layers and task head are separate, named vertices, so the head can be swapped when fine-tuning.
 *
 * <p>The graph has one input named {@link #INPUT} and one output, the layer named {@link #HEAD}; every layer name is
 * unique by construction (building a graph with a repeated name fails rather than replacing a layer).
 */
public sealed interface NetworkSpec permits MlpSpec, CnnSpec, CnnAutoencoderSpec, LstmLanguageModelSpec {

    /** The name of the graph's only input. */
    String INPUT = "input";

    /** The name of the output layer, the task head. */
    String HEAD = "head";

    /**
     * The DL4J configuration of this network.
     *
     * @param seed all parameter initialisation randomness derives from it
     * @param updater the optimiser for every layer, e.g. {@code new Adam(1e-3)}; {@code new NoOp()} for gradient
     *     checks
     * @param dataType parameter and activation type: {@code FLOAT} for training, {@code DOUBLE} for gradient checks
     */
    ComputationGraphConfiguration configuration(long seed, IUpdater updater, DataType dataType);

    /** A new graph of this configuration, initialised. */
    default ComputationGraph build(long seed, IUpdater updater, DataType dataType) {
        ComputationGraph graph = new ComputationGraph(configuration(seed, updater, dataType));
        graph.init();
        return graph;
    }

    /** The encoder's layer names in input-to-output order; the head is not among them. */
    List<String> encoderLayers();

    /** The vertex a task head attaches to: the last encoder layer, or {@link #INPUT} if there is none. */
    default String encoderOutput() {
        List<String> layers = encoderLayers();
        return layers.isEmpty() ? INPUT : layers.get(layers.size() - 1);
    }

    /** The name of the output layer, always {@link #HEAD}. */
    default String headLayer() {
        return HEAD;
    }

    /** The loss the head is trained with. */
    Loss loss();

    /** A short name of the architecture: {@code mlp}, {@code cnn}, {@code cnn-autoencoder} or {@code lstm-lm}. */
    String kind();
}

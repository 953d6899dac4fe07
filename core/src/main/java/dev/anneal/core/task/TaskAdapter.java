package dev.anneal.core.task;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;
import java.util.List;

/**
 * Turns a pretrained network into the one a task trains: the pretraining head is removed by name, the encoder's
 * output is pooled over time, a new head is attached, and the named layers are frozen. Fails before any training
 * when the checkpoint does not fit the task, naming what differs.
 */
public final class TaskAdapter {
    public static final String POOL = "pool";
    public static final String HEAD = "head";
    static final List<String> TEXT_ENCODERS = List.of("lstm-lm");

    private TaskAdapter() {
    }

    /**
     * A binary classifier (sigmoid + binary cross-entropy, one output) over the pooled encoder output.
     *
     * @param pretrained   the pretrained checkpoint; its graph is not modified
     * @param pooling      mean, max or last (the last unmasked time step)
     * @param freeze       layers to keep as pretrained, with every layer that feeds them
     * @param learningRate Adam's learning rate for the layers that train
     * @param seed         seeds the new head's initialisation
     */
    public static ComputationGraph binaryClassifier(Checkpoint pretrained, String pooling, List<String> freeze,
                                                    double learningRate, long seed) {
        String kind = pretrained.info().networkKind();
        if (!TEXT_ENCODERS.contains(kind)) {
            throw new CheckpointException("the checkpoint holds a '" + kind + "' network; a text classifier needs one of "
                    + TEXT_ENCODERS);
        }
        ComputationGraph source = pretrained.graph();
        Object declared = pretrained.info().network().get("encoderOutput");
        if (declared == null) {
            throw new CheckpointException("the checkpoint's manifest has no network.encoderOutput");
        }
        String encoderOutput = declared.toString();
        List<String> names = Arrays.stream(source.getVertices()).map(GraphVertex::getVertexName).toList();
        if (!names.contains(encoderOutput) || source.getLayer(encoderOutput) == null || encoderOutput.equals(HEAD)) {
            throw new CheckpointException("the checkpoint's manifest names encoder output '" + encoderOutput
                    + "', but its network has layers " + names);
        }
        if (!names.contains(HEAD)) {
            throw new CheckpointException("the checkpoint's network has no '" + HEAD + "' to replace; layers: " + names);
        }
        for (String f : freeze) {
            if (!names.contains(f) || f.equals(HEAD)) {
                throw new CheckpointException("task.freeze names '" + f + "', which is not an encoder layer of the "
                        + "checkpoint's network; encoder layers: "
                        + names.stream().filter(n -> !n.equals(HEAD) && source.getLayer(n) != null).toList());
            }
        }
        long width = ((FeedForwardLayer) source.getLayer(encoderOutput).conf().getLayer()).getNOut();

        TransferLearning.GraphBuilder builder = new TransferLearning.GraphBuilder(source.clone())
                .fineTuneConfiguration(new FineTuneConfiguration.Builder()
                        .updater(new Adam(learningRate))
                        .seed(seed)
                        .build());
        if (!freeze.isEmpty()) {
            builder.setFeatureExtractor(freeze.toArray(String[]::new));
        }
        builder.removeVertexAndConnections(HEAD);
        if ("last".equals(pooling)) {
            builder.addVertex(POOL, new LastTimeStepVertex(source.getConfiguration().getNetworkInputs().get(0)),
                    encoderOutput);
        } else {
            PoolingType type = switch (pooling) {
                case "mean" -> PoolingType.AVG;
                case "max" -> PoolingType.MAX;
                default -> throw new IllegalArgumentException("pooling must be mean, max or last, got " + pooling);
            };
            builder.addLayer(POOL, new GlobalPoolingLayer.Builder(type).build(), encoderOutput);
        }
        builder.addLayer(HEAD, new OutputLayer.Builder(LossFunctions.LossFunction.XENT)
                .activation(Activation.SIGMOID)
                .weightInit(WeightInit.XAVIER)
                .nIn(width)
                .nOut(1)
                .build(), POOL);
        builder.setOutputs(HEAD);
        return builder.build();
    }
}

package dev.anneal.core.task;

import dev.anneal.core.checkpoint.Checkpoint;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

/**
 * Turns a pretrained network into the one a task trains: the pretraining head is removed by name, the encoder's
 * output is pooled over time, a new head is attached, and the named layers are frozen. Fails before any training
 * when the checkpoint does not fit the task, naming what differs ({@link CheckpointFit}).
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
        CheckpointFit.require("the checkpoint", pretrained, null, freeze, 0);
        ComputationGraph source = pretrained.graph();
        String encoderOutput = pretrained.info().network().get("encoderOutput").toString();
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

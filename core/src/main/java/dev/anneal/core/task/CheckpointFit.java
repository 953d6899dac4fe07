package dev.anneal.core.task;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.config.FinetuneSettings;
import dev.anneal.core.text.CharVocabulary;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Whether a pretrained checkpoint fits a text-classifier fine-tune, decided before anything trains: the network's
 * kind; its vocabulary against the manifest and against the network's input (the embedding's width and, when the
 * network fixes it, the sequence length against {@code text.maxLength}); the encoder output the new head attaches
 * to; the head to replace; and the layers {@code task.freeze} names.
 *
 * <p>Every difference is reported at once, so one refused run shows all there is to change rather than one item per
 * run, each of which would otherwise cost a Spark start or, worse, an exception deep in the first epoch.
 */
public final class CheckpointFit {
    private CheckpointFit() {
    }

    /**
     * Fails with every difference between the checkpoint and what the fine-tune needs.
     *
     * @param where     names the checkpoint in the message (its directory)
     * @param manifest  the checkpoint's manifest, whose {@code vocabulary} record is checked against
     *                  {@code vocab.json}; {@code null} to skip that
     * @param freeze    the layers {@code task.freeze} names
     * @param maxLength characters per record the classifier feeds ({@code text.maxLength}); 0 for any
     * @throws CheckpointException listing the differences, numbered (exit code 3)
     */
    public static void require(String where, Checkpoint checkpoint, Map<String, Object> manifest,
                               List<String> freeze, int maxLength) {
        List<String> differences = differences(checkpoint, manifest, freeze, maxLength);
        if (!differences.isEmpty()) {
            StringBuilder message = new StringBuilder(where).append(" does not fit the fine-tune config (")
                    .append(differences.size()).append(differences.size() == 1 ? " difference): " : " differences): ");
            for (int i = 0; i < differences.size(); i++) {
                message.append(i == 0 ? "" : "; ").append(i + 1).append(") ").append(differences.get(i));
            }
            throw new CheckpointException(message.toString());
        }
    }

    /**
     * As {@link #require}, and also what the fine-tune toolkit's settings name: the layers {@code task.learningRates}
     * addresses, {@code task.freezeFirst} against the encoder's depth, and adapters against the layers they follow.
     */
    public static void require(String where, Checkpoint checkpoint, Map<String, Object> manifest,
                               List<String> freeze, int maxLength, FinetuneSettings settings) {
        require(where, checkpoint, manifest, freeze, maxLength, settings, false);
    }

    /** As the text fine-tune's {@code require}; {@code images} true for a fine-tune on images (a CNN checkpoint). */
    public static void require(String where, Checkpoint checkpoint, Map<String, Object> manifest,
                               List<String> freeze, int maxLength, FinetuneSettings settings, boolean images) {
        List<String> d = new ArrayList<>(differences(checkpoint, manifest, freeze, maxLength, images));
        if (d.isEmpty()) {
            d.addAll(toolkit(checkpoint, settings));
        }
        if (!d.isEmpty()) {
            StringBuilder message = new StringBuilder(where).append(" does not fit the fine-tune config (")
                    .append(d.size()).append(d.size() == 1 ? " difference): " : " differences): ");
            for (int i = 0; i < d.size(); i++) {
                message.append(i == 0 ? "" : "; ").append(i + 1).append(") ").append(d.get(i));
            }
            throw new CheckpointException(message.toString());
        }
    }

    private static List<String> toolkit(Checkpoint checkpoint, FinetuneSettings s) {
        List<String> d = new ArrayList<>();
        List<String> encoder = TaskAdapter.encoderLayers(checkpoint);
        List<String> adapted = TaskAdapter.adaptedLayers(checkpoint);
        List<String> known = new ArrayList<>(List.of("encoder", "adapters", TaskAdapter.HEAD));
        known.addAll(encoder);
        if (s.adapterSize() > 0) {
            adapted.forEach(n -> known.add(TaskAdapter.ADAPTER_PREFIX + n));
        }
        for (String name : s.learningRateFactors().keySet()) {
            if (!known.contains(name)) {
                d.add("task.learningRates names '" + name + "', which is neither a group nor a layer of the "
                        + "fine-tuned network; names: " + known);
            }
        }
        if (s.freezeFirst() > encoder.size()) {
            d.add("task.freezeFirst is " + s.freezeFirst() + ", but the encoder has " + encoder.size()
                    + " layers: " + encoder);
        }
        if (s.adapterSize() > 0 && adapted.isEmpty()) {
            d.add("task.adapterSize is " + s.adapterSize() + ", but the encoder has no recurrent, convolution or "
                    + "dense layer to put an adapter after; its layers: " + encoder);
        }
        return d;
    }

    /** The differences {@link #require} reports; empty when the checkpoint fits. */
    public static List<String> differences(Checkpoint checkpoint, Map<String, Object> manifest, List<String> freeze,
                                           int maxLength) {
        return differences(checkpoint, manifest, freeze, maxLength, TaskAdapter.readsImages(checkpoint));
    }

    /** As {@link #differences(Checkpoint, Map, List, int)}, for a text ({@code images} false) or image fine-tune. */
    public static List<String> differences(Checkpoint checkpoint, Map<String, Object> manifest, List<String> freeze,
                                           int maxLength, boolean images) {
        List<String> d = new ArrayList<>();
        String kind = checkpoint.info().networkKind();
        List<String> kinds = images ? TaskAdapter.IMAGE_ENCODERS : TaskAdapter.TEXT_ENCODERS;
        if (!kinds.contains(kind)) {
            d.add("network kind is '" + kind + "'; " + (images ? "an image" : "a text") + " classifier needs one of "
                    + kinds);
        }
        ComputationGraph graph = checkpoint.graph();
        List<String> names = Arrays.stream(graph.getVertices()).map(GraphVertex::getVertexName).toList();
        List<String> encoderLayers = names.stream()
                .filter(n -> !n.equals(TaskAdapter.HEAD) && graph.getLayer(n) != null).toList();
        if (!images) {
            vocabulary(checkpoint.vocabulary(), manifest, checkpoint.info().network(), d);
            input(graph, checkpoint.vocabulary(), maxLength, d);
        } else if (!(checkpoint.info().network().get("image") instanceof Map<?, ?>)) {
            d.add("the manifest has no network.image (rows, cols, channels) for the images the network reads");
        }

        Object encoderOutput = checkpoint.info().network().get("encoderOutput");
        if (encoderOutput == null) {
            d.add("the manifest has no network.encoderOutput, the layer the classifier head attaches to");
        } else if (!encoderLayers.contains(encoderOutput.toString())
                || !(graph.getLayer(encoderOutput.toString()).conf().getLayer() instanceof FeedForwardLayer)) {
            d.add("network.encoderOutput names '" + encoderOutput + "', which is not an encoder layer of the "
                    + "network; encoder layers: " + encoderLayers);
        } else {
            // What the fine-tune keeps: the chain from the input to the encoder output. An autoencoder's decoder
            // is not part of it, so task.freeze may not name a decoder layer.
            encoderLayers = TaskAdapter.encoderLayers(checkpoint);
        }
        if (!names.contains(TaskAdapter.HEAD)) {
            d.add("the network has no '" + TaskAdapter.HEAD + "' to replace; its layers: " + names);
        }
        for (String f : freeze) {
            if (f.equals(TaskAdapter.HEAD)) {
                d.add("task.freeze names '" + f + "', the layer fine-tuning replaces; encoder layers: "
                        + encoderLayers);
            } else if (!encoderLayers.contains(f)) {
                d.add("task.freeze names '" + f + "', which is not an encoder layer of the checkpoint's network; "
                        + "encoder layers: " + encoderLayers);
            }
        }
        return d;
    }

    private static void vocabulary(CharVocabulary vocab, Map<String, Object> manifest, Map<String, Object> network,
                                   List<String> d) {
        if (manifest != null) {
            if (!(manifest.get("vocabulary") instanceof Map<?, ?> recorded)) {
                d.add("the manifest has no vocabulary record to check vocab.json against");
            } else {
                if (!vocab.sha256().equals(recorded.get("sha256"))) {
                    d.add("vocabulary hash: vocab.json's is " + vocab.sha256() + ", the manifest records "
                            + recorded.get("sha256"));
                }
                if (recorded.get("size") instanceof Number size && size.intValue() != vocab.size()) {
                    d.add("vocabulary size: vocab.json has " + vocab.size() + " entries, the manifest records "
                            + size);
                }
            }
        }
        if (network.get("vocabularySize") instanceof Number size && size.intValue() != vocab.size()) {
            d.add("network.vocabularySize is " + size + ", but vocab.json has " + vocab.size() + " entries");
        }
    }

    /** The classifier feeds one input of token ids, {@code [batch, 1, length]}, into a token embedding. */
    private static void input(ComputationGraph graph, CharVocabulary vocab, int maxLength, List<String> d) {
        List<String> inputs = graph.getConfiguration().getNetworkInputs();
        if (inputs.size() != 1) {
            d.add("input: the network has inputs " + inputs + "; a text classifier feeds one, the token ids");
            return;
        }
        List<String> consumers = new ArrayList<>();
        graph.getConfiguration().getVertexInputs().forEach((vertex, from) -> {
            if (from.contains(inputs.get(0))) {
                consumers.add(vertex);
            }
        });
        for (String name : consumers) {
            if (graph.getLayer(name) == null
                    || !(graph.getLayer(name).conf().getLayer() instanceof EmbeddingSequenceLayer embedding)) {
                d.add("input: the network's input feeds '" + name + "', which is not a token embedding "
                        + "(EmbeddingSequenceLayer), so it does not read token ids");
                continue;
            }
            if (embedding.getNIn() != vocab.size()) {
                d.add("input shape: layer '" + name + "' embeds " + embedding.getNIn() + " token ids, but vocab.json "
                        + "has " + vocab.size());
            }
            if (!embedding.isInferInputLength() && maxLength > 0 && embedding.getInputLength() != maxLength) {
                d.add("input shape: layer '" + name + "' reads sequences of exactly " + embedding.getInputLength()
                        + " tokens, but text.maxLength is " + maxLength);
            }
        }
    }
}

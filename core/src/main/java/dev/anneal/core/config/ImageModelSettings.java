package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * How {@code anneal pretrain} trains on an image dataset: a CNN ({@code dev.anneal.core.net.CnnSpec}) supervised on
 * the dataset's labels, or on a subset of them (the rest of the images are left out), remapped to outputs 0..k-1 in
 * the order given; or, with the objective {@value #RECONSTRUCT}, a convolutional autoencoder
 * ({@code dev.anneal.core.net.CnnAutoencoderSpec}) with the same encoder, trained to reconstruct the images without
 * their labels. The keys live under {@code image.} and {@code model.cnn.}.
 *
 * @param labels     the label values pretrained on, in output order; empty = every label the dataset declares.
 *                   With {@value #RECONSTRUCT}, only which images are used: their labels are not read
 * @param channels   output channels of each convolution + max-pool block, input side first
 * @param kernelSize side of the square convolution kernels
 * @param denseSize  width of the dense layer the head reads
 * @param dropout    probability of dropping each dense output before the head (the decoder) while training
 * @param objective  {@value #CLASSIFY} (supervised, a softmax head over the labels) or {@value #RECONSTRUCT}
 */
public record ImageModelSettings(List<String> labels, List<Integer> channels, int kernelSize, int denseSize,
                                 double dropout, String objective) {
    /** Supervised: a softmax head over {@code image.labels}. */
    public static final String CLASSIFY = "classify";
    /** Unsupervised: a convolutional autoencoder reconstructs each image. */
    public static final String RECONSTRUCT = "reconstruct";
    static final List<String> OBJECTIVES = List.of(CLASSIFY, RECONSTRUCT);

    public ImageModelSettings {
        labels = List.copyOf(labels);
        channels = List.copyOf(channels);
        if (labels.size() == 1 && !RECONSTRUCT.equals(objective)) {
            throw new ConfigException("image.labels must name at least 2 labels (or none for all), got " + labels);
        }
        if (labels.stream().distinct().count() != labels.size()) {
            throw new ConfigException("image.labels must not repeat a label, got " + labels);
        }
        if (channels.isEmpty() || channels.stream().anyMatch(c -> c < 1)) {
            throw new ConfigException("model.cnn.channels must list at least one positive channel count, got "
                    + channels);
        }
        Require.positive("model.cnn.kernelSize", kernelSize);
        Require.positive("model.cnn.denseSize", denseSize);
        if (!(dropout >= 0 && dropout < 1)) {
            throw new ConfigException("model.cnn.dropout must be in [0, 1), got " + dropout);
        }
        if (!OBJECTIVES.contains(objective)) {
            throw new ConfigException("model.cnn.objective must be one of " + OBJECTIVES + ", got '" + objective
                    + "'");
        }
    }

    /** Whether the network is the autoencoder, trained without labels. */
    public boolean reconstructs() {
        return RECONSTRUCT.equals(objective);
    }

    static List<ConfigField> fields() {
        return new ArrayList<>(List.of(
                ConfigField.list("image.labels", List.of(),
                        "Image datasets: the labels pretrained on (supervised), in output order; images with other "
                                + "labels are left out. Empty = every label the dataset declares. With "
                                + "model.cnn.objective=reconstruct only the images of these labels are used, and "
                                + "their labels are not read."),
                ConfigField.list("model.cnn.channels", List.of("32", "64"),
                        "Image datasets: output channels of each convolution + 2x2 max-pool block, input side first."),
                ConfigField.integer("model.cnn.kernelSize", 3, "Image datasets: side of the convolution kernels."),
                ConfigField.integer("model.cnn.denseSize", 256,
                        "Image datasets: width of the dense layer between the convolutions and the head."),
                ConfigField.decimal("model.cnn.dropout", 0.0,
                        "Image datasets: probability of dropping each dense output before the head while training."),
                ConfigField.choice("model.cnn.objective", CLASSIFY, OBJECTIVES,
                        "Image datasets: classify trains the CNN supervised on image.labels; reconstruct trains a "
                                + "convolutional autoencoder with the same encoder (conv_i, pool_i, dense) and a "
                                + "mirrored decoder to reconstruct each image's pixels (sigmoid, binary "
                                + "cross-entropy), without labels: image.labels then only chooses the images "
                                + "(empty = all). Text pretraining refuses reconstruct.")));
    }

    static ImageModelSettings from(ConfigValues v) {
        List<Integer> channels = new ArrayList<>();
        for (String c : v.list("model.cnn.channels")) {
            try {
                channels.add(Integer.parseInt(c.strip()));
            } catch (NumberFormatException e) {
                throw new ConfigException("model.cnn.channels must be whole numbers, got '" + c + "'");
            }
        }
        return new ImageModelSettings(v.list("image.labels"), channels, v.integer("model.cnn.kernelSize"),
                v.integer("model.cnn.denseSize"), v.decimal("model.cnn.dropout"), v.string("model.cnn.objective"));
    }
}

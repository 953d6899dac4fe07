package dev.anneal.jobs.bench;

import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.net.MlpSpec;
import dev.anneal.core.net.NetworkSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Floating-point operations per training sample of a network, counted from its architecture: the multiply-adds of
 * the dense, convolution and LSTM products (2 operations each); activations, pooling, biases and the softmax are
 * left out as small against them. A training step is counted as 3× the forward pass (backward: one product for the
 * input gradient and one for the weight gradient per forward product), the usual convention (Kaplan et al. 2020,
 * "Scaling Laws for Neural Language Models", section 2.1).
 */
public final class ModelFlops {
    private ModelFlops() {
    }

    /** Forward-pass operations for one sample; {@code steps} is the sequence length of a language model (else ignored). */
    public static double forward(NetworkSpec spec, int steps) {
        if (spec instanceof MlpSpec mlp) {
            List<Integer> widths = new ArrayList<>();
            widths.add(mlp.nIn());
            widths.addAll(mlp.hidden());
            widths.add(mlp.nOut());
            double flops = 0;
            for (int i = 1; i < widths.size(); i++) {
                flops += 2.0 * widths.get(i - 1) * widths.get(i);
            }
            return flops;
        }
        if (spec instanceof CnnSpec cnn) {
            double flops = 0;
            int h = cnn.height();
            int w = cnn.width();
            int channels = cnn.channels();
            int k = cnn.kernelSize();
            for (int out : cnn.convChannels()) {
                h = h - k + 1;  // valid convolution, stride 1
                w = w - k + 1;
                flops += 2.0 * k * k * channels * out * h * w;
                channels = out;
                h /= 2;  // max pooling 2x2, stride 2
                w /= 2;
            }
            flops += 2.0 * channels * h * w * cnn.denseSize();
            flops += 2.0 * cnn.denseSize() * cnn.nOut();
            return flops;
        }
        LstmLanguageModelSpec lm = (LstmLanguageModelSpec) spec;
        double perStep = 0;
        int in = lm.embeddingSize();
        for (int i = 0; i < lm.layers(); i++) {
            // four gates, each a product of [input, previous hidden state] with its weights
            perStep += 2.0 * 4 * lm.hiddenSize() * (in + lm.hiddenSize());
            in = lm.hiddenSize();
        }
        perStep += 2.0 * lm.hiddenSize() * lm.vocabSize();
        return perStep * steps;
    }

    /** Operations of one training step per sample: forward and backward, 3× the forward pass. */
    public static double training(NetworkSpec spec, int steps) {
        return 3 * forward(spec, steps);
    }

    /** The share of a matrix-multiply rate that a training throughput uses: samples/s × FLOPs per sample ÷ peak. */
    public static double utilisation(double samplesPerSecond, double trainingFlopsPerSample, double peakGflops) {
        return samplesPerSecond * trainingFlopsPerSample / (peakGflops * 1e9);
    }

    /** Prints the training FLOPs per sample of scripts/bench's models: {@code ModelFlops LM_VOCAB}. */
    public static void main(String[] args) {
        int vocab = Integer.parseInt(args[0]);
        System.out.printf(java.util.Locale.ROOT, "RESULT {\"mode\":\"flops\",\"mlp\":%.0f,\"cnn\":%.0f,\"lstm-lm\":%.0f}%n",
                training(TrainingBenchmark.model("mlp"), 1), training(TrainingBenchmark.model("cnn"), 1),
                training(new LstmLanguageModelSpec(vocab, 32, 128, 1), 64));
    }
}

package dev.anneal.core.net;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

/**
 * The training objective of a network's head, pairing each loss with the output activation it is derived for.
 */
public enum Loss {

    /**
     * Sigmoid outputs with binary cross-entropy, for 0/1 (or multi-label) targets.
     *
     * <p>Derivation of the gradient, for logistic regression with {@code z_i = θ·x_i} and {@code p_i = σ(z_i)}:
     * <pre>
     *   L = −(1/N) Σ_i [ t_i log p_i + (1 − t_i) log(1 − p_i) ]
     *
     *   ∂L/∂p_i = −(1/N) [ t_i / p_i − (1 − t_i) / (1 − p_i) ]
     *           =  (1/N) (p_i − t_i) / ( p_i (1 − p_i) )
     *
     *   σ'(z) = σ(z) (1 − σ(z))   so   ∂p_i/∂z_i = p_i (1 − p_i)
     *
     *   ∂L/∂z_i = ∂L/∂p_i · ∂p_i/∂z_i = (p_i − t_i) / N        (the p(1−p) factors cancel)
     *
     *   ∂z_i/∂θ = x_i   so   ∂L/∂θ = (1/N) Σ_i (σ(θ·x_i) − t_i) x_i
     * </pre>
     * The cancellation is why sigmoid is paired with this loss: the error signal at the logits stays linear in
     * {@code p − t} instead of vanishing when the sigmoid saturates. Source: C. M. Bishop, <i>Pattern Recognition
     * and Machine Learning</i>, Springer 2006, §4.3.2, eq. (4.91) (there without the 1/N factor, which comes from
     * averaging over the minibatch as DL4J's score does; DL4J's {@code computeGradientAndScore()} leaves the gradient
     * of the sum and its updater divides by N). {@code BinaryCrossEntropyGradientTest} checks all of this against
     * DL4J.
     */
    BINARY_CROSS_ENTROPY("binary-cross-entropy", Activation.SIGMOID),

    /** Softmax outputs with multi-class cross-entropy, for one-hot (or probability) targets. */
    SOFTMAX_CROSS_ENTROPY("softmax-cross-entropy", Activation.SOFTMAX),

    /** Identity outputs with mean squared error, for real-valued targets. */
    MSE("mse", Activation.IDENTITY);

    private final String configName;
    private final Activation outputActivation;

    Loss(String configName, Activation outputActivation) {
        this.configName = configName;
        this.outputActivation = outputActivation;
    }

    /** The activation of the output layer this loss is meant to follow. */
    public Activation outputActivation() {
        return outputActivation;
    }

    /** A fresh DL4J loss function; fresh because DL4J loss objects carry mutable settings. */
    public ILossFunction lossFunction() {
        return switch (this) {
            case BINARY_CROSS_ENTROPY -> new LossBinaryXENT();
            case SOFTMAX_CROSS_ENTROPY -> new LossMCXENT();
            case MSE -> new LossMSE();
        };
    }

    /** The kebab-case name used in configuration files. */
    public String configName() {
        return configName;
    }

    /**
     * Parses a configuration name such as {@code softmax-cross-entropy}.
     *
     * @throws IllegalArgumentException if the name is unknown; the message lists the allowed names
     */
    public static Loss fromConfigName(String name) {
        for (Loss loss : values()) {
            if (loss.configName.equals(name)) {
                return loss;
            }
        }
        throw new IllegalArgumentException("unknown loss '" + name + "', expected one of: "
                + Arrays.stream(values()).map(Loss::configName).collect(Collectors.joining(", ")));
    }
}

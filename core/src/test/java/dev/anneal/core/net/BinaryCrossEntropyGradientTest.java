package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * Checks the derivation in {@link Loss#BINARY_CROSS_ENTROPY}'s Javadoc against DL4J on a logistic regression
 * {@code p_i = σ(θ·x_i + b)}: the bias is an extra weight on a constant input 1, so its gradient is
 * {@code (1/N) Σ_i (p_i − t_i)}.
 */
class BinaryCrossEntropyGradientTest {

    private static final int D = 3;
    private static final int N = 8;
    private static final double EPS = 1e-6;
    private static final double TOLERANCE = 1e-6;

    private double[][] x;
    private double[] t;
    private ComputationGraph graph;
    private DataSet data;

    @BeforeEach
    void logisticRegression() {
        Random random = new Random(42);
        x = new double[N][D];
        t = new double[N];
        double[] flat = new double[N * D];
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < D; j++) {
                x[i][j] = random.nextGaussian();
                flat[i * D + j] = x[i][j];
            }
            t[i] = random.nextBoolean() ? 1 : 0;
        }
        MlpSpec spec = new MlpSpec(D, List.of(), 1, Loss.BINARY_CROSS_ENTROPY);
        graph = spec.build(7, new NoOp(), DataType.DOUBLE);
        // A non-zero bias, so that a formula ignoring it would show up.
        graph.getParam("head_b").assign(0.3);
        data = new DataSet(Nd4j.create(flat, new long[] {N, D}, DataType.DOUBLE),
                Nd4j.create(t, new long[] {N, 1}, DataType.DOUBLE));
        graph.setInputs(data.getFeatures());
        graph.setLabels(data.getLabels());
    }

    @Test
    void scoreIsTheMinibatchMeanOfTheCrossEntropy() {
        graph.computeGradientAndScore();

        double sum = 0;
        for (int i = 0; i < N; i++) {
            double p = probability(i);
            sum -= t[i] * Math.log(p) + (1 - t[i]) * Math.log(1 - p);
        }
        assertEquals(sum / N, graph.score(), 1e-12 * sum);
        assertEquals(sum / N, graph.score(data, false), 1e-12 * sum);
    }

    @Test
    void handDerivedGradientMatchesFiniteDifferencesOfTheScore() {
        double[] hand = handGradient();
        double[] numeric = centralDifferences();

        assertTrue(relativeError(hand, numeric) < TOLERANCE,
                () -> "relative error " + relativeError(hand, numeric));
        // The check must be able to fail: drop the 1/N, or flip the sign, and it does.
        double[] withoutMean = scaled(hand, N);
        assertTrue(relativeError(withoutMean, numeric) > 0.5);
        double[] flipped = scaled(hand, -1);
        assertTrue(relativeError(flipped, numeric) > 0.5);
    }

    @Test
    void dl4jGradientIsTheMinibatchSumUntilTheUpdaterDividesByN() {
        graph.computeGradientAndScore();
        Gradient gradient = graph.gradient();
        double[] hand = handGradient();

        // computeGradientAndScore() leaves the gradient of Σ_i loss_i although score() is the mean: DL4J divides
        // by the minibatch size only in the updater (what GradientCheckUtil and fit() go through).
        double[] raw = dl4jGradient(gradient);
        assertTrue(relativeError(raw, scaled(hand, N)) < TOLERANCE,
                () -> "relative error " + relativeError(raw, scaled(hand, N)));
        assertTrue(relativeError(raw, hand) > 0.5);

        graph.getUpdater().update(gradient, 0, 0, N, LayerWorkspaceMgr.noWorkspaces());
        double[] applied = dl4jGradient(gradient);
        assertTrue(relativeError(applied, hand) < TOLERANCE,
                () -> "relative error " + relativeError(applied, hand));
        assertTrue(relativeError(applied, centralDifferences()) < TOLERANCE);
    }

    /** (1/N) Σ_i (σ(θ·x_i + b) − t_i) [x_i, 1], in plain doubles. */
    private double[] handGradient() {
        double[] gradient = new double[D + 1];
        for (int i = 0; i < N; i++) {
            double error = probability(i) - t[i];
            for (int j = 0; j < D; j++) {
                gradient[j] += error * x[i][j] / N;
            }
            gradient[D] += error / N;
        }
        return gradient;
    }

    private double probability(int i) {
        INDArray w = graph.getParam("head_W");
        double z = graph.getParam("head_b").getDouble(0);
        for (int j = 0; j < D; j++) {
            z += w.getDouble(j, 0) * x[i][j];
        }
        return 1 / (1 + Math.exp(-z));
    }

    /** Central differences of the score in the order [θ_0 … θ_{D-1}, b]. */
    private double[] centralDifferences() {
        INDArray w = graph.getParam("head_W");
        INDArray b = graph.getParam("head_b");
        double[] numeric = new double[D + 1];
        for (int k = 0; k <= D; k++) {
            INDArray param = k < D ? w : b;
            long index = k < D ? k : 0;
            double original = param.getDouble(index);
            param.putScalar(index, original + EPS);
            double plus = graph.score(data, false);
            param.putScalar(index, original - EPS);
            double minus = graph.score(data, false);
            param.putScalar(index, original);
            numeric[k] = (plus - minus) / (2 * EPS);
        }
        return numeric;
    }

    private static double[] dl4jGradient(Gradient gradient) {
        INDArray w = gradient.getGradientFor("head_W");
        double[] result = new double[D + 1];
        for (int j = 0; j < D; j++) {
            result[j] = w.getDouble(j, 0);
        }
        result[D] = gradient.getGradientFor("head_b").getDouble(0);
        return result;
    }

    private static double[] scaled(double[] v, double factor) {
        double[] result = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            result[i] = v[i] * factor;
        }
        return result;
    }

    /** ‖a − b‖ / max(‖a‖, ‖b‖). */
    private static double relativeError(double[] a, double[] b) {
        double diff = 0;
        double normA = 0;
        double normB = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            normA += a[i] * a[i];
            normB += b[i] * b[i];
        }
        return Math.sqrt(diff) / Math.max(Math.sqrt(Math.max(normA, normB)), Double.MIN_NORMAL);
    }
}

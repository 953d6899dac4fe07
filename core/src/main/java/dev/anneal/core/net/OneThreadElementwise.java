package dev.anneal.core.net;

import org.nd4j.linalg.factory.Environment;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs ND4J's element-wise ops on one thread while a {@link ChainTrainer} steps, leaving BLAS its threads.
 *
 * <p>Why: on arrays the size of a minibatch's activations (128 × 512 floats) each multi-threaded element-wise op
 * wakes ND4J's sleeping second thread, which costs more than the op: with two native threads a ReLU took 17–54 µs
 * against 9 µs on one, and the sign-and-multiply of ReLU's backprop 100–134 µs against 18 µs. ND4J's GEMM keeps its
 * threads either way (its thread count is OpenBLAS's, not this one), so the step's GEMMs still use every core.
 *
 * <p>The setting ({@code maxMasterThreads}) belongs to the whole JVM. Steps may overlap (two Spark tasks in one
 * executor), so the first to enter lowers it and the last to leave restores it; ND4J work in other threads meanwhile
 * also runs its element-wise ops on one thread.
 */
final class OneThreadElementwise implements AutoCloseable {
    /** Activations of more elements than this keep ND4J's threads: there the op outweighs the wake-up. */
    static final long MAX_ELEMENTS = 1 << 20;

    private static final Object LOCK = new Object();
    private static int inside;
    private static int saved;

    private final boolean entered;

    private OneThreadElementwise(boolean entered) {
        this.entered = entered;
    }

    /** Enters when the step's largest activation has at most {@link #MAX_ELEMENTS} elements; close to leave. */
    static OneThreadElementwise enter(long largestActivation) {
        if (largestActivation > MAX_ELEMENTS) {
            return new OneThreadElementwise(false);
        }
        synchronized (LOCK) {
            if (inside++ == 0) {
                Environment environment = Nd4j.getEnvironment();
                saved = environment.maxMasterThreads();
                if (saved > 1) {
                    environment.setMaxMasterThreads(1);
                }
            }
        }
        return new OneThreadElementwise(true);
    }

    @Override
    public void close() {
        if (!entered) {
            return;
        }
        synchronized (LOCK) {
            if (--inside == 0 && saved > 1) {
                Nd4j.getEnvironment().setMaxMasterThreads(saved);
            }
        }
    }
}

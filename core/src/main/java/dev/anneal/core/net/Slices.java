package dev.anneal.core.net;

import java.util.stream.IntStream;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Splits the images of a minibatch into contiguous slices, one per thread ND4J may use (as {@link FlatAdam} splits
 * its blocks), for {@link ConvPool}'s Java loops; with one native thread, as in an executor of the local SGD engine,
 * everything runs in the calling thread.
 */
final class Slices {
    /** Fewer images than this a slice are not worth a thread. */
    private static final int MINIMUM = 8;

    private Slices() {
    }

    /** Work on images {@code [from, to)} by the thread of slice {@code slice}. */
    interface Work {
        void run(int slice, int from, int to);
    }

    /** How many slices a minibatch of {@code m} images is split into. */
    static int count(int m) {
        int threads = Math.max(1, Math.min(Nd4j.getEnvironment().maxThreads(),
                Runtime.getRuntime().availableProcessors()));
        return Math.max(1, Math.min(threads, m / MINIMUM));
    }

    /** Runs {@code work} over {@code m} images in {@code slices} slices, in parallel when there are several. */
    static void run(int m, int slices, Work work) {
        if (slices == 1) {
            work.run(0, 0, m);
            return;
        }
        IntStream.range(0, slices).parallel().forEach(i -> work.run(i, (int) ((long) m * i / slices),
                (int) ((long) m * (i + 1) / slices)));
    }
}

package dev.anneal.jobs.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The machine's float32 matrix-multiply rate through ND4J: {@code Nd4j.gemm} into an existing array (as DL4J's dense
 * layers call it), for a large square product and for the MLP's own forward products at batch 128; the best of
 * several timed repetitions of each. Its threads come from {@code OMP_NUM_THREADS}. Prints one
 * {@code RESULT {json}} line: GFLOP/s per shape, counting 2·m·n·k floating-point operations per product.
 *
 * <p>Usage: {@code SgemmPeak [SECONDS_PER_SHAPE]}.
 */
public final class SgemmPeak {
    private SgemmPeak() {
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2;
        int[][] shapes = {{1024, 1024, 1024}, {128, 784, 512}, {128, 512, 256}};
        List<String> rows = new ArrayList<>();
        double peak = 0;
        for (int[] s : shapes) {
            double rate = gflops(s[0], s[1], s[2], seconds);
            peak = Math.max(peak, rate);
            rows.add(String.format(Locale.ROOT, "{\"m\":%d,\"k\":%d,\"n\":%d,\"gflops\":%.2f}", s[0], s[1], s[2], rate));
        }
        System.out.printf(Locale.ROOT, "RESULT {\"mode\":\"sgemm-nd4j\",\"threads\":\"%s\",\"peakGflops\":%.2f,"
                        + "\"shapes\":[%s]}%n", System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), peak,
                String.join(",", rows));
    }

    /** The best rate of repeated {@code [m,k]·[k,n]} products over about {@code seconds}. */
    static double gflops(int m, int k, int n, double seconds) {
        INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
        INDArray b = Nd4j.rand(DataType.FLOAT, k, n);
        INDArray c = Nd4j.create(DataType.FLOAT, m, n);
        double flops = 2.0 * m * n * k;
        // Repetitions per timing so each lasts ≥ ~20 ms, far above the timer's resolution.
        int reps = (int) Math.max(1, Math.ceil(2e-2 * 50e9 / flops));
        for (int i = 0; i < reps; i++) {
            Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
        }
        double best = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            }
            best = Math.max(best, reps * flops / ((System.nanoTime() - t0) / 1e9) / 1e9);
        }
        return best;
    }
}

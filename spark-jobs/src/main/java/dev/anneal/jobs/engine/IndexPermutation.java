package dev.anneal.jobs.engine;

import java.io.Serializable;

/**
 * A random permutation of {@code 0..n-1} that needs no table: a four-round Feistel network over the smallest
 * power-of-four domain that holds {@code n}, with cycle walking (an index whose image falls outside {@code 0..n-1} is
 * mapped again until it lands inside, which keeps the map a bijection of {@code 0..n-1}). The same {@code n} and seed
 * give the same permutation on every JVM, so executors place each minibatch of an epoch without shipping an order.
 */
final class IndexPermutation implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final int ROUNDS = 4;

    private final long n;
    private final int halfBits;
    private final long halfMask;
    private final long[] keys = new long[ROUNDS];

    IndexPermutation(long n, long seed) {
        if (n < 1) {
            throw new IllegalArgumentException("permutation of " + n + " elements");
        }
        this.n = n;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(n - 1));
        this.halfBits = (bits + 1) / 2;
        this.halfMask = (1L << halfBits) - 1;
        long k = seed;
        for (int r = 0; r < ROUNDS; r++) {
            k = mix(k + 0x9E3779B97F4A7C15L);
            keys[r] = k;
        }
    }

    /** The position of index {@code i} ({@code 0 <= i < n}). */
    long apply(long i) {
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException(i + " not in 0.." + (n - 1));
        }
        long x = i;
        do {
            x = encrypt(x);
        } while (x >= n);
        return x;
    }

    private long encrypt(long x) {
        long left = x >>> halfBits;
        long right = x & halfMask;
        for (int r = 0; r < ROUNDS; r++) {
            long next = left ^ (mix(right ^ keys[r]) & halfMask);
            left = right;
            right = next;
        }
        return (left << halfBits) | right;
    }

    /** Stafford's variant 13 of the SplitMix64 finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

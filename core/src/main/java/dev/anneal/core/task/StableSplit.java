package dev.anneal.core.task;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Assigns a record to train, validation or test by a hash of its content alone, so a record keeps its split however
 * the data set grows or is partitioned, and duplicates always land together.
 */
public enum StableSplit {
    TRAIN, VALIDATION, TEST;

    /**
     * The split of a record whose identity is {@code key}: its SHA-256 mapped to [0, 1) falls below
     * {@code validationFraction} → validation, below {@code validationFraction + testFraction} → test, else train.
     */
    public static StableSplit of(String key, double validationFraction, double testFraction) {
        double u = unitHash(key);
        if (u < validationFraction) {
            return VALIDATION;
        }
        return u < validationFraction + testFraction ? TEST : TRAIN;
    }

    /** The first 53 bits of SHA-256 of {@code key} as a double in [0, 1). */
    public static double unitHash(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return (ByteBuffer.wrap(d).getLong() >>> 11) * 0x1.0p-53;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

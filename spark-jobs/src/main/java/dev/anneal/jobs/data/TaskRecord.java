package dev.anneal.jobs.data;

import java.io.Serializable;

/**
 * One labeled record of any task: its text, or its image (one byte a pixel, row-major), and the head's target row
 * (0/1, one-hot, multi-hot or a value).
 */
public record TaskRecord(String text, byte[] image, float[] target) implements Serializable {

    /** A text record. */
    public TaskRecord(String text, float[] target) {
        this(text, null, target);
    }

    /** An image record. */
    public static TaskRecord image(byte[] pixels, float[] target) {
        return new TaskRecord(null, pixels, target);
    }
}

package dev.anneal.jobs.data;

import java.io.Serializable;

/** One labeled record of any task: its text and the head's target row (0/1, one-hot, multi-hot or a value). */
public record TaskRecord(String text, float[] target) implements Serializable {
}

package dev.anneal.jobs.data;

import java.io.Serializable;

/** One labeled record: its text and a 0/1 label. */
public record LabeledText(String text, int label) implements Serializable {
}

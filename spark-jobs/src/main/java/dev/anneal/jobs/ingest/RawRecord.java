package dev.anneal.jobs.ingest;

import java.io.Serializable;

/**
 * One record as a reader found it, on an executor: good (text or image, optional label, a stable id) or bad (a reason
 * and a short excerpt for the quarantine), always with where it came from.
 */
public final class RawRecord implements Serializable {
    private static final long serialVersionUID = 1L;
    /** A blank line of a text file: layout between paragraphs, counted but neither a record nor bad. */
    public static final String BLANK = "blank line";
    public static final int NO_LABEL = -1;

    public final String source;
    public final long offset;
    public final String id;
    public final String text;
    public final byte[] image;
    public final int label;
    public final String reason;
    public final String excerpt;

    private RawRecord(String source, long offset, String id, String text, byte[] image, int label, String reason,
                      String excerpt) {
        this.source = source;
        this.offset = offset;
        this.id = id;
        this.text = text;
        this.image = image;
        this.label = label;
        this.reason = reason;
        this.excerpt = excerpt;
    }

    public static RawRecord text(String source, long offset, String id, String text, int label) {
        return new RawRecord(source, offset, id, text, null, label, null, null);
    }

    public static RawRecord image(String source, long offset, String id, byte[] pixels, int label) {
        return new RawRecord(source, offset, id, null, pixels, label, null, null);
    }

    public static RawRecord bad(String source, long offset, String reason, String excerpt) {
        return new RawRecord(source, offset, null, null, null, NO_LABEL, reason, excerpt);
    }

    public static RawRecord blank(String source, long offset) {
        return new RawRecord(source, offset, null, null, null, NO_LABEL, BLANK, null);
    }

    public boolean good() {
        return reason == null;
    }

    public boolean isBad() {
        return reason != null && !BLANK.equals(reason);
    }

    public boolean isBlank() {
        return BLANK.equals(reason);
    }
}

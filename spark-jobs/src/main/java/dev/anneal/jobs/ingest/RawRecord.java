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
    /** For a piece of a split over-long record: its index, from 0; -1 for any other record. */
    public final int piece;
    /** For a truncated over-long record: the characters cut off its end; 0 for any other record. */
    public final int cut;

    private RawRecord(String source, long offset, String id, String text, byte[] image, int label, String reason,
                      String excerpt, int piece, int cut) {
        this.source = source;
        this.offset = offset;
        this.id = id;
        this.text = text;
        this.image = image;
        this.label = label;
        this.reason = reason;
        this.excerpt = excerpt;
        this.piece = piece;
        this.cut = cut;
    }

    public static RawRecord text(String source, long offset, String id, String text, int label) {
        return new RawRecord(source, offset, id, text, null, label, null, null, -1, 0);
    }

    /** Piece {@code piece} (from 0) of an over-long text split at {@code record.maxLength}. */
    public static RawRecord piece(String source, long offset, String id, String text, int label, int piece) {
        return new RawRecord(source, offset, id, text, null, label, null, null, piece, 0);
    }

    /** An over-long text truncated at {@code record.maxLength}, {@code cut} characters shorter than it was. */
    public static RawRecord truncated(String source, long offset, String id, String text, int label, int cut) {
        return new RawRecord(source, offset, id, text, null, label, null, null, -1, cut);
    }

    public static RawRecord image(String source, long offset, String id, byte[] pixels, int label) {
        return new RawRecord(source, offset, id, null, pixels, label, null, null, -1, 0);
    }

    public static RawRecord bad(String source, long offset, String reason, String excerpt) {
        return new RawRecord(source, offset, null, null, null, NO_LABEL, reason, excerpt, -1, 0);
    }

    public static RawRecord blank(String source, long offset) {
        return new RawRecord(source, offset, null, null, null, NO_LABEL, BLANK, null, -1, 0);
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

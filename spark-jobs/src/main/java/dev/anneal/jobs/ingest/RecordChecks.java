package dev.anneal.jobs.ingest;

import dev.anneal.core.config.IngestConfig;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The checks every text reader applies on the executors: strict UTF-8, no binary content, non-blank text, a declared
 * label, and the over-long policy. Each failure becomes a bad record naming its reason; nothing is dropped silently.
 */
final class RecordChecks implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String INVALID_UTF8 = "invalid UTF-8";
    static final String BINARY = "binary content (NUL byte)";
    static final String EMPTY = "empty or whitespace-only text";
    static final String OVERLONG = "over-long record";
    static final String BAD_LABEL = "label outside the declared set";
    static final String NO_TEXT = "no text field";
    static final String BAD_JSON = "not valid JSON";
    static final String CORRUPT_IMAGE = "corrupt image row";
    private static final int EXCERPT = 80;

    private final int maxLength;
    private final String overlong;
    private final List<String> labels;

    RecordChecks(IngestConfig config) {
        this.maxLength = config.maxRecordLength();
        this.overlong = config.overlong();
        this.labels = config.labels();
    }

    /** The bytes as text, or null when they are not valid UTF-8. */
    static String decode(byte[] bytes, int length) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(bytes, 0, length));
            return chars.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    static boolean hasNul(byte[] bytes, int length) {
        for (int i = 0; i < length; i++) {
            if (bytes[i] == 0) {
                return true;
            }
        }
        return false;
    }

    /** A printable excerpt of raw bytes for the quarantine: invalid sequences shown as U+FFFD. */
    static String excerpt(byte[] bytes, int length) {
        return excerpt(new String(bytes, 0, Math.min(length, EXCERPT * 4), StandardCharsets.UTF_8));
    }

    static String excerpt(String s) {
        String oneLine = s.replace('\0', '\uFFFD').replaceAll("\\s+", " ").strip();
        return oneLine.length() <= EXCERPT ? oneLine : oneLine.substring(0, EXCERPT - 3) + "...";
    }

    /** The label's index among the declared values, or -1 when it is not one of them. */
    int labelIndex(String value) {
        return value == null ? -1 : labels.indexOf(value.strip());
    }

    List<String> labels() {
        return labels;
    }

    /**
     * The good record(s) a text becomes, or a bad one: blank text is bad; a text over {@code maxLength} characters is
     * split into pieces, truncated or quarantined per the config. {@code id} null means a hash of the content.
     */
    List<RawRecord> text(String source, long offset, String id, String text, int label) {
        if (text.isBlank()) {
            return List.of(RawRecord.bad(source, offset, EMPTY, excerpt(text)));
        }
        int length = text.codePointCount(0, text.length());
        if (length <= maxLength) {
            return List.of(RawRecord.text(source, offset, id == null ? contentId(text) : id, text, label));
        }
        switch (overlong) {
            case "quarantine" -> {
                return List.of(RawRecord.bad(source, offset, OVERLONG + " (" + length + " characters > "
                        + maxLength + ")", excerpt(text)));
            }
            case "truncate" -> {
                String kept = text.substring(0, text.offsetByCodePoints(0, maxLength));
                return List.of(RawRecord.truncated(source, offset, id == null ? contentId(text) : id, kept, label,
                        length - maxLength));
            }
            default -> {
                List<RawRecord> pieces = new ArrayList<>();
                int start = 0;
                for (int piece = 0; start < text.length(); piece++) {
                    int remaining = text.codePointCount(start, text.length());
                    int end = remaining <= maxLength ? text.length() : text.offsetByCodePoints(start, maxLength);
                    String part = text.substring(start, end);
                    // Every piece gets an id of its own, so the pieces of one record spread over the splits
                    // deterministically; with a given id, the piece number makes it unique.
                    String pieceId = id == null ? contentId(part) + ":" + piece : id + "#" + piece;
                    pieces.add(RawRecord.piece(source, offset, pieceId, part, label, piece));
                    start = end;
                }
                return pieces;
            }
        }
    }

    /** A record id from the content alone: equal texts get equal ids, so duplicates always share a split. */
    static String contentId(String text) {
        return sha256(text.getBytes(StandardCharsets.UTF_8)).substring(0, 32);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

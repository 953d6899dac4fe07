package dev.anneal.core.data;

import java.util.Locale;

/**
 * What a text model reads of a raw RFC 822 e-mail. A raw message opens with its routing headers ({@code From },
 * {@code Return-Path:}, {@code Received:} ...), often over a thousand characters of them, so a classifier that reads
 * the first few hundred characters sees little but relays and dates. {@link #subjectAndBody} keeps what a reader
 * sees: the subject line and the body, as they stand in the message (the body is not MIME-decoded: quoted-printable
 * escapes, HTML and multipart boundaries stay, and are signal of their own).
 */
public final class EmailText {
    private EmailText() {
    }

    /**
     * The message's {@code Subject:} (unfolded, as {@code "Subject: ..."}), a blank line, then the body: everything
     * after the first empty line that ends the header block. A message without a subject header gives the body alone;
     * one without a body gives the subject line alone. A text that does not open with a header line ({@code Name:
     * value} or an mbox {@code From } line) has no header block and is returned whole. Line ends are kept as found.
     */
    public static String subjectAndBody(String raw) {
        if (!opensWithHeader(raw)) {
            return raw;
        }
        int end = headerEnd(raw);
        String headers = end < 0 ? raw : raw.substring(0, end);
        String body = end < 0 ? "" : raw.substring(bodyStart(raw, end));
        String subject = subject(headers);
        if (subject == null) {
            return body;
        }
        return body.isEmpty() ? subject : subject + "\n\n" + body;
    }

    private static boolean opensWithHeader(String raw) {
        if (raw.startsWith("From ")) {
            return true;
        }
        int lineEnd = raw.indexOf('\n');
        String first = lineEnd < 0 ? raw : raw.substring(0, lineEnd);
        int colon = first.indexOf(':');
        if (colon <= 0) {
            return false;
        }
        for (int i = 0; i < colon; i++) {
            char c = first.charAt(i);
            // RFC 5322 field names: printable ASCII except the colon, no spaces.
            if (c <= ' ' || c > '~') {
                return false;
            }
        }
        return true;
    }

    /** Index of the line end that precedes the first empty line, or -1 when the text is all headers. */
    private static int headerEnd(String raw) {
        for (int i = raw.indexOf('\n'); i >= 0; i = raw.indexOf('\n', i + 1)) {
            int next = i + 1;
            if (next < raw.length() && raw.charAt(next) == '\r') {
                next++;
            }
            if (next < raw.length() && raw.charAt(next) == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static int bodyStart(String raw, int headerEnd) {
        int i = headerEnd + 1;
        if (raw.charAt(i) == '\r') {
            i++;
        }
        return i + 1;
    }

    /** The first Subject header with its continuation lines unfolded, or null when there is none. */
    private static String subject(String headers) {
        String[] lines = headers.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].toLowerCase(Locale.ROOT).startsWith("subject:")) {
                StringBuilder value = new StringBuilder(lines[i].substring("subject:".length()).strip());
                for (int j = i + 1; j < lines.length && !lines[j].isEmpty()
                        && (lines[j].charAt(0) == ' ' || lines[j].charAt(0) == '\t'); j++) {
                    value.append(' ').append(lines[j].strip());
                }
                return "Subject: " + value;
            }
        }
        return null;
    }
}

package dev.anneal.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.anneal.core.InputException;

import java.io.IOException;
import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A character-level vocabulary: Unicode code points mapped to token ids, with id 0 for padding and id 1 for any
 * character outside the vocabulary. Characters rather than words: no text is ever out of vocabulary, the softmax over
 * a few hundred ids stays cheap on CPUs, and a fine-tuning corpus (e-mail, with its odd tokens) never meets a word the
 * pretraining corpus lacked.
 */
public final class CharVocabulary implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final int PAD = 0;
    public static final int UNKNOWN = 1;
    public static final String KIND = "char";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int[] codePoints;
    private final Map<Integer, Integer> ids;
    /** Ids of the code points below {@link #TABLE}, looked up without boxing: most text never leaves this range. */
    private transient int[] table;
    private static final int TABLE = 1 << 12;

    private CharVocabulary(int[] codePoints) {
        this.codePoints = codePoints.clone();
        this.ids = new HashMap<>();
        for (int i = 0; i < codePoints.length; i++) {
            if (ids.put(codePoints[i], i + 2) != null) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(codePoints[i])
                        + " appears twice in the vocabulary");
            }
        }
    }

    /**
     * The {@code maxSize} most frequent characters of {@code counts}; equal counts are ordered by code point, so the
     * same counts always give the same ids.
     */
    public static CharVocabulary fromCounts(Map<Integer, Long> counts, int maxSize) {
        int[] kept = counts.entrySet().stream()
                .sorted(Comparator.<Map.Entry<Integer, Long>>comparingLong(Map.Entry::getValue).reversed()
                        .thenComparing(Map.Entry::getKey))
                .limit(maxSize)
                .mapToInt(Map.Entry::getKey)
                .toArray();
        return new CharVocabulary(kept);
    }

    /** Token ids including padding and unknown. */
    public int size() {
        return codePoints.length + 2;
    }

    public int id(int codePoint) {
        if (codePoint >= 0 && codePoint < TABLE) {
            return table()[codePoint];
        }
        return ids.getOrDefault(codePoint, UNKNOWN);
    }

    private int[] table() {
        int[] t = table;
        if (t == null) {
            t = new int[TABLE];
            java.util.Arrays.fill(t, UNKNOWN);
            for (int i = 0; i < codePoints.length; i++) {
                if (codePoints[i] < TABLE) {
                    t[codePoints[i]] = i + 2;
                }
            }
            table = t;
        }
        return t;
    }

    /** The ids of every character of {@code text}. */
    public int[] encode(String text) {
        int[] t = table();
        int n = text.length();
        int[] out = new int[n];
        int k = 0;
        for (int i = 0; i < n; ) {
            char c = text.charAt(i);
            if (c < TABLE) {
                out[k++] = t[c];
                i++;
            } else {
                int cp = text.codePointAt(i);
                out[k++] = id(cp);
                i += Character.charCount(cp);
            }
        }
        return k == n ? out : java.util.Arrays.copyOf(out, k);
    }

    /** Text for the ids; padding is dropped and unknown characters show as U+FFFD. */
    public String decode(int[] tokenIds) {
        StringBuilder sb = new StringBuilder();
        for (int id : tokenIds) {
            if (id == PAD) {
                continue;
            }
            sb.appendCodePoint(id == UNKNOWN || id >= size() ? 0xFFFD : codePoints[id - 2]);
        }
        return sb.toString();
    }

    /** vocab.json: the kind and the characters in id order (ids 0 and 1 are implicit). */
    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("kind", KIND);
        root.put("pad", PAD);
        root.put("unknown", UNKNOWN);
        ArrayNode chars = root.putArray("characters");
        for (int cp : codePoints) {
            chars.add(new String(Character.toChars(cp)));
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static CharVocabulary fromJson(byte[] json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new InputException(source + ": not a vocabulary file (invalid JSON: " + e.getMessage() + ")");
        }
        if (root == null || !KIND.equals(root.path("kind").asText())) {
            throw new InputException(source + ": expected a vocabulary of kind '" + KIND + "', got '"
                    + (root == null ? "" : root.path("kind").asText()) + "'");
        }
        JsonNode chars = root.path("characters");
        if (!chars.isArray()) {
            throw new InputException(source + ": field 'characters' is missing or not a list");
        }
        List<Integer> cps = new ArrayList<>();
        for (int i = 0; i < chars.size(); i++) {
            String s = chars.get(i).asText();
            if (s.codePointCount(0, s.length()) != 1) {
                throw new InputException(source + ": characters[" + i + "] is not one character: '" + s + "'");
            }
            cps.add(s.codePointAt(0));
        }
        try {
            return new CharVocabulary(cps.stream().mapToInt(Integer::intValue).toArray());
        } catch (IllegalArgumentException e) {
            throw new InputException(source + ": " + e.getMessage());
        }
    }

    /** sha256 of vocab.json: two vocabularies are the same exactly when their hashes are. */
    public String sha256() {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(toJson());
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharVocabulary v && java.util.Arrays.equals(codePoints, v.codePoints);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "CharVocabulary[" + size() + " ids]";
    }
}

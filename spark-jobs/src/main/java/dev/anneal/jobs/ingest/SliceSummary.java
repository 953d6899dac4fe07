package dev.anneal.jobs.ingest;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one pass over a slice's records found, computed per partition on the executors and merged: counts by outcome
 * and reason, and per-character counts for the vocabulary. This, not the records, is what reaches the driver.
 */
final class SliceSummary implements Serializable {
    private static final long serialVersionUID = 1L;
    long good;
    long bad;
    long blank;
    long characters;
    long imageBytes;
    /** Over-long records kept: truncated ones, and split ones with the pieces they became. */
    long truncated;
    long charactersCut;
    long split;
    long pieces;
    final Map<String, Long> badByReason = new TreeMap<>();
    /** Counts of the Basic Multilingual Plane's characters by code point; the rest in {@link #supplementary}. */
    transient long[] bmp = new long[1 << 16];
    final Map<Integer, Long> supplementary = new HashMap<>();

    static Iterator<SliceSummary> of(Iterator<RawRecord> records) {
        SliceSummary s = new SliceSummary();
        while (records.hasNext()) {
            s.add(records.next());
        }
        return List.of(s).iterator();
    }

    void add(RawRecord r) {
        if (r.isBlank()) {
            blank++;
        } else if (r.isBad()) {
            bad++;
            badByReason.merge(reasonKey(r.reason), 1L, Long::sum);
        } else {
            good++;
            if (r.cut > 0) {
                truncated++;
                charactersCut += r.cut;
            }
            if (r.piece >= 0) {
                pieces++;
                split += r.piece == 0 ? 1 : 0;
            }
            if (r.text != null) {
                String t = r.text;
                long[] counts = bmp;
                int n = t.length();
                long seen = 0;
                for (int i = 0; i < n; seen++) {
                    char c = t.charAt(i);
                    if (!Character.isSurrogate(c)) {
                        counts[c]++;
                        i++;
                    } else {
                        int cp = t.codePointAt(i);
                        if (cp < counts.length) {
                            counts[cp]++;
                        } else {
                            supplementary.merge(cp, 1L, Long::sum);
                        }
                        i += Character.charCount(cp);
                    }
                }
                characters += seen;
                // Pretraining joins records with a line break: it is a character of the corpus.
                bmp['\n']++;
                characters++;
            } else if (r.image != null) {
                imageBytes += r.image.length;
            }
        }
    }

    /** The reason without its details (a length, a label list), so counts group by kind. */
    static String reasonKey(String reason) {
        int paren = reason.indexOf(" (");
        int bracket = reason.indexOf(" [");
        int cut = paren < 0 ? bracket : bracket < 0 ? paren : Math.min(paren, bracket);
        return cut < 0 ? reason : reason.substring(0, cut);
    }

    SliceSummary merge(SliceSummary o) {
        good += o.good;
        bad += o.bad;
        blank += o.blank;
        characters += o.characters;
        imageBytes += o.imageBytes;
        truncated += o.truncated;
        charactersCut += o.charactersCut;
        split += o.split;
        pieces += o.pieces;
        o.badByReason.forEach((k, v) -> badByReason.merge(k, v, Long::sum));
        for (int i = 0; i < bmp.length; i++) {
            bmp[i] += o.bmp[i];
        }
        o.supplementary.forEach((k, v) -> supplementary.merge(k, v, Long::sum));
        return this;
    }

    /** Only the characters seen travel: a partition's summary is a few kilobytes, not the whole plane. */
    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        out.defaultWriteObject();
        int n = 0;
        for (long c : bmp) {
            n += c > 0 ? 1 : 0;
        }
        out.writeInt(n);
        for (int i = 0; i < bmp.length; i++) {
            if (bmp[i] > 0) {
                out.writeChar(i);
                out.writeLong(bmp[i]);
            }
        }
    }

    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        bmp = new long[1 << 16];
        for (int n = in.readInt(); n > 0; n--) {
            int cp = in.readChar();
            bmp[cp] = in.readLong();
        }
    }

    Map<Integer, Long> characterCounts() {
        Map<Integer, Long> counts = new HashMap<>(supplementary);
        for (int i = 0; i < bmp.length; i++) {
            if (bmp[i] > 0) {
                counts.put(i, bmp[i]);
            }
        }
        return counts;
    }
}

package dev.anneal.core.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.anneal.core.AnnealException;
import dev.anneal.core.InputException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class CharVocabularyTest {

    private static final String SOURCE = "hdfs://nn/runs/r1/checkpoints/step-5/vocab.json";

    /** Counts of every code point of {@code text}. */
    private static Map<Integer, Long> counts(String text) {
        Map<Integer, Long> counts = new HashMap<>();
        text.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        return counts;
    }

    private static InputException rejected(String json) {
        InputException e = assertThrows(InputException.class,
                () -> CharVocabulary.fromJson(json.getBytes(StandardCharsets.UTF_8), SOURCE));
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode());
        assertTrue(e.getMessage().startsWith(SOURCE + ":"), "names the source: " + e.getMessage());
        return e;
    }

    @Test
    void mostFrequentCharactersGetTheLowestIdsAfterPadAndUnknown() {
        CharVocabulary v = CharVocabulary.fromCounts(Map.of((int) 'e', 50L, (int) 't', 30L, (int) 'z', 1L), 10);

        assertEquals(5, v.size(), "three characters plus pad and unknown");
        assertEquals(2, v.id('e'));
        assertEquals(3, v.id('t'));
        assertEquals(4, v.id('z'));
    }

    @Test
    void equalCountsAreOrderedByCodePointWhateverTheMapOrder() {
        Map<Integer, Long> forward = new LinkedHashMap<>();
        Map<Integer, Long> backward = new LinkedHashMap<>();
        int[] chars = {'d', 'b', 'a', 'c', 'x'};
        for (int c : chars) {
            forward.put(c, c == 'x' ? 9L : 4L);
        }
        for (int i = chars.length - 1; i >= 0; i--) {
            backward.put(chars[i], chars[i] == 'x' ? 9L : 4L);
        }

        CharVocabulary a = CharVocabulary.fromCounts(forward, 10);
        CharVocabulary b = CharVocabulary.fromCounts(backward, 10);

        assertEquals(a, b);
        assertEquals(a.sha256(), b.sha256());
        assertArrayEquals(new int[] {2, 3, 4, 5, 6}, a.encode("xabcd"));
    }

    @Test
    void maxSizeKeepsTheMostFrequentAndMapsTheRestToUnknown() {
        CharVocabulary v = CharVocabulary.fromCounts(counts("aaaabbbcc d"), 2);

        assertEquals(4, v.size());
        assertArrayEquals(new int[] {2, 3, 1, 1, 1}, v.encode("abc d"));
    }

    @Test
    void maxSizeLargerThanTheCharacterCountKeepsThemAll() {
        CharVocabulary v = CharVocabulary.fromCounts(counts("abc"), 1000);

        assertEquals(5, v.size());
    }

    @Test
    void unknownCharactersEncodeAsOneAndDecodeAsReplacementCharacter() {
        CharVocabulary v = CharVocabulary.fromCounts(counts("hello"), 10);

        int[] ids = v.encode("help!");
        assertEquals(CharVocabulary.UNKNOWN, ids[3], "'p' was never counted");
        assertEquals(CharVocabulary.UNKNOWN, ids[4]);
        assertEquals("hel\uFFFD\uFFFD", v.decode(ids));
        assertEquals("\uFFFD", v.decode(new int[] {v.size() + 7}), "ids beyond the vocabulary decode as unknown");
    }

    @Test
    void paddingIsIdZeroAndDecodesToNothing() {
        CharVocabulary v = CharVocabulary.fromCounts(counts("ab"), 10);

        assertEquals(0, CharVocabulary.PAD);
        assertEquals(1, CharVocabulary.UNKNOWN);
        assertEquals("ab", v.decode(new int[] {v.id('a'), 0, v.id('b'), 0, 0}));
        for (int id : v.encode("abab")) {
            assertTrue(id >= 2, "a known character never gets pad or unknown's id");
        }
    }

    @Test
    void encodeDecodeRoundTripsTextOfKnownCharacters() {
        String text = "The quick brown fox jumps over the lazy dog.\nÄÖÜ ß – naïve café";
        CharVocabulary v = CharVocabulary.fromCounts(counts(text), 500);

        int[] ids = v.encode(text);

        assertEquals(text.codePointCount(0, text.length()), ids.length);
        assertEquals(text, v.decode(ids));
    }

    @Test
    void supplementaryCharactersAreOneTokenEach() {
        String text = "ok 😀👍😀 𝄞😀";
        CharVocabulary v = CharVocabulary.fromCounts(counts(text), 100);

        int[] ids = v.encode("😀𝄞");

        assertEquals(2, ids.length, "an emoji is one character, not two UTF-16 halves");
        assertEquals(2, v.id(0x1F600), "the most frequent character");
        assertEquals(v.id(0x1D11E), ids[1]);
        assertEquals(text, v.decode(v.encode(text)));
        assertEquals(CharVocabulary.UNKNOWN, v.encode("🙂")[0]);

        CharVocabulary back = CharVocabulary.fromJson(v.toJson(), SOURCE);
        assertEquals(v, back);
        assertEquals(text, back.decode(back.encode(text)));
    }

    @Test
    void jsonRoundTripGivesAnEqualVocabularyWithTheSameHash() {
        CharVocabulary v = CharVocabulary.fromCounts(counts("a\"b\\c\n\t{}[] é😀 \u0000"), 100);

        byte[] json = v.toJson();
        CharVocabulary back = CharVocabulary.fromJson(json, SOURCE);

        assertEquals(v, back);
        assertEquals(v.hashCode(), back.hashCode());
        assertEquals(v.sha256(), back.sha256());
        assertArrayEquals(json, back.toJson(), "vocab.json is byte-for-byte stable");
        assertEquals(64, v.sha256().length());
        assertTrue(v.sha256().matches("[0-9a-f]{64}"));
        String text = new String(json, StandardCharsets.UTF_8);
        assertTrue(text.contains("\"kind\" : \"char\""), text);
    }

    @Test
    void differentVocabulariesHaveDifferentHashes() {
        CharVocabulary ab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        CharVocabulary ba = CharVocabulary.fromCounts(Map.of((int) 'a', 1L, (int) 'b', 2L), 10);

        assertNotEquals(ab, ba, "same characters, different ids");
        assertNotEquals(ab.sha256(), ba.sha256());
    }

    @Test
    void fromJsonReadsAHandWrittenFile() {
        CharVocabulary v = CharVocabulary.fromJson(
                "{\"kind\":\"char\",\"characters\":[\"x\",\"y\",\"\\u00e9\"]}".getBytes(StandardCharsets.UTF_8),
                SOURCE);

        assertEquals(5, v.size());
        assertArrayEquals(new int[] {2, 3, 4, 1}, v.encode("xyéz"));
    }

    @Test
    void fromJsonRejectsAnotherKind() {
        InputException e = rejected("{\"kind\":\"wordpiece\",\"characters\":[\"a\"]}");

        assertTrue(e.getMessage().contains("'wordpiece'"), e.getMessage());
        assertTrue(e.getMessage().contains("'char'"), e.getMessage());
    }

    @Test
    void fromJsonRejectsAMissingKind() {
        InputException e = rejected("{\"characters\":[\"a\"]}");

        assertTrue(e.getMessage().contains("'char'"), e.getMessage());
    }

    @Test
    void fromJsonRejectsNonJson() {
        InputException e = rejected("PK\u0003\u0004 this is a zip, not json");

        assertTrue(e.getMessage().contains("not a vocabulary file"), e.getMessage());
    }

    @Test
    void fromJsonRejectsEmptyInput() {
        rejected("");
    }

    @Test
    void fromJsonRejectsMissingCharacterList() {
        InputException e = rejected("{\"kind\":\"char\",\"characters\":\"abc\"}");

        assertTrue(e.getMessage().contains("characters"), e.getMessage());
    }

    @Test
    void fromJsonRejectsMultiCharacterEntries() {
        InputException e = rejected("{\"kind\":\"char\",\"characters\":[\"a\",\"th\"]}");

        assertTrue(e.getMessage().contains("characters[1]"), e.getMessage());
        assertTrue(e.getMessage().contains("'th'"), e.getMessage());
    }

    @Test
    void fromJsonRejectsEmptyEntries() {
        InputException e = rejected("{\"kind\":\"char\",\"characters\":[\"\"]}");

        assertTrue(e.getMessage().contains("characters[0]"), e.getMessage());
    }

    @Test
    void fromJsonRejectsDuplicates() {
        InputException e = rejected("{\"kind\":\"char\",\"characters\":[\"a\",\"b\",\"a\"]}");

        assertTrue(e.getMessage().contains("U+61"), e.getMessage());
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }

    @Test
    void countsOrderIsIndependentOfMapImplementation() {
        Map<Integer, Long> counts = counts("mississippi river");
        assertEquals(CharVocabulary.fromCounts(counts, 5), CharVocabulary.fromCounts(new TreeMap<>(counts), 5));
        // i 5, s 4, then p and r with 2 each: the tie goes to the lower code point, p
        CharVocabulary v = CharVocabulary.fromCounts(counts, 5);
        assertArrayEquals(new int[] {2, 3, 4, 5}, v.encode("ispr"));
    }
}

package dev.anneal.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StableSplitTest {
    private static final int N = 10_000;

    private static List<String> keys(int from, int to) {
        List<String> keys = new ArrayList<>();
        for (int i = from; i < to; i++) {
            keys.add("record " + i + ": some e-mail text");
        }
        return keys;
    }

    @Test
    void sameKeyAlwaysGetsTheSameSplit() {
        for (String key : keys(0, 200)) {
            StableSplit first = StableSplit.of(key, 0.2, 0.3);
            for (int i = 0; i < 3; i++) {
                assertEquals(first, StableSplit.of(new String(key.toCharArray()), 0.2, 0.3), key);
            }
        }
    }

    @Test
    void unitHashIsSha256OfUtf8BytesMappedIntoTheUnitInterval() {
        // sha256("") = e3b0c442 98fc1c14 …: the first 53 bits over 2^53. Pinning it keeps splits stable across versions.
        assertEquals((0xe3b0c44298fc1c14L >>> 11) * 0x1.0p-53, StableSplit.unitHash(""), 0.0);
        // sha256("abc") = ba7816bf 8f01cfea …
        assertEquals((0xba7816bf8f01cfeaL >>> 11) * 0x1.0p-53, StableSplit.unitHash("abc"), 0.0);
        assertNotEquals(StableSplit.unitHash("é"), StableSplit.unitHash("e\u0301"), "hashes the exact text");
    }

    @Test
    void unitHashStaysInZeroOneAndSpreadsOverIt() {
        double min = 1;
        double max = 0;
        int[] deciles = new int[10];
        for (String key : keys(0, N)) {
            double u = StableSplit.unitHash(key);
            assertTrue(u >= 0 && u < 1, key + " → " + u);
            min = Math.min(min, u);
            max = Math.max(max, u);
            deciles[(int) (u * 10)]++;
        }
        assertTrue(min < 0.001 && max > 0.999, "min " + min + ", max " + max);
        for (int d = 0; d < 10; d++) {
            assertEquals(N / 10.0, deciles[d], N * 0.02, "decile " + d);
        }
    }

    @Test
    void fractionsAreRespectedWithinTwoPercentagePoints() {
        double[][] cases = {{0.15, 0.15}, {0.05, 0.0}, {0.1, 0.3}, {0.0, 0.5}};
        for (double[] c : cases) {
            Map<StableSplit, Integer> counts = new EnumMap<>(StableSplit.class);
            for (String key : keys(0, N)) {
                counts.merge(StableSplit.of(key, c[0], c[1]), 1, Integer::sum);
            }
            String label = "validation " + c[0] + ", test " + c[1] + ": " + counts;
            assertEquals(c[0], counts.getOrDefault(StableSplit.VALIDATION, 0) / (double) N, 0.02, label);
            assertEquals(c[1], counts.getOrDefault(StableSplit.TEST, 0) / (double) N, 0.02, label);
            assertEquals(1 - c[0] - c[1], counts.getOrDefault(StableSplit.TRAIN, 0) / (double) N, 0.02, label);
        }
    }

    @Test
    void zeroFractionsPutEverythingInTrain() {
        for (String key : keys(0, 1000)) {
            assertEquals(StableSplit.TRAIN, StableSplit.of(key, 0, 0), key);
        }
    }

    @Test
    void growingOrReorderingTheDataSetNeverMovesOldRecords() {
        List<String> old = keys(0, 2000);
        Map<String, StableSplit> before = new HashMap<>();
        for (String key : old) {
            before.put(key, StableSplit.of(key, 0.15, 0.15));
        }

        List<String> grown = new ArrayList<>(keys(0, N));
        grown.addAll(keys(50_000, 55_000));
        Collections.shuffle(grown, new Random(3));
        Map<String, StableSplit> after = new HashMap<>();
        for (String key : grown) {
            after.put(key, StableSplit.of(key, 0.15, 0.15));
        }

        for (String key : old) {
            assertEquals(before.get(key), after.get(key), key);
        }
        assertEquals(3, before.values().stream().distinct().count(), "the old records fill every split");
    }

    @Test
    void raisingTheTestFractionOnlyMovesTrainRecordsIntoTest() {
        int moved = 0;
        for (String key : keys(0, N)) {
            StableSplit small = StableSplit.of(key, 0.1, 0.1);
            StableSplit large = StableSplit.of(key, 0.1, 0.2);
            if (small != StableSplit.TRAIN) {
                assertEquals(small, large, key + " kept its validation or test split");
            } else if (large != StableSplit.TRAIN) {
                assertEquals(StableSplit.TEST, large, key);
                moved++;
            }
        }
        assertEquals(0.1 * N, moved, 0.02 * N, "about a tenth of the records moved into test");
    }
}

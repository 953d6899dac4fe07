package dev.anneal.jobs.data;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Records joined by a separator and cut into windows that overlap by one id (pretraining's windows). */
class TokenWindowsTest {
    private static List<int[]> windows(List<int[]> records, int length) {
        List<int[]> out = new ArrayList<>();
        new TokenWindows(records.iterator(), 0, length).forEachRemaining(out::add);
        return out;
    }

    @Test
    void recordsAreJoinedBySeparatorsAndEveryIdIsPredictedOnce() {
        // 1 2 3 | 4 5 | 6 7 8 9 | joined: 1 2 3 0 4 5 0 6 7 8 9 0 (12 ids)
        List<int[]> w = windows(List.of(new int[]{1, 2, 3}, new int[]{4, 5}, new int[]{6, 7, 8, 9}), 4);
        assertEquals(3, w.size());
        assertArrayEquals(new int[]{1, 2, 3, 0}, w.get(0));
        assertArrayEquals(new int[]{0, 4, 5, 0}, w.get(1), "the next window starts at the last id of the one before");
        assertArrayEquals(new int[]{0, 6, 7, 8}, w.get(2));
        // The tail (8 9 0) is shorter than a window and is not padded into one.
        int predicted = w.stream().mapToInt(a -> a.length - 1).sum();
        assertEquals(9, predicted);
    }

    @Test
    void aRecordLongerThanAWindowSpansSeveral() {
        int[] record = new int[10];
        Arrays.setAll(record, i -> i + 1);
        List<int[]> w = windows(List.of(record), 4);
        assertEquals(List.of("[1, 2, 3, 4]", "[4, 5, 6, 7]", "[7, 8, 9, 10]"),
                w.stream().map(Arrays::toString).toList());
    }

    @Test
    void tooLittleInputGivesNoWindow() {
        TokenWindows none = new TokenWindows(List.of(new int[]{1}).iterator(), 0, 4);
        assertFalse(none.hasNext());
        assertThrows(NoSuchElementException.class, none::next);
    }
}

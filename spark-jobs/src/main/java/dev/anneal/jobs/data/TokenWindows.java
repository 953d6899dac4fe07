package dev.anneal.jobs.data;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Cuts a stream of token-id records, joined by a separator id, into windows of a fixed length that overlap by one id
 * (the next window starts at this one's last id, so every id is predicted once). Holds at most one record and one
 * window at a time.
 */
public final class TokenWindows implements Iterator<int[]> {
    private final Iterator<int[]> records;
    private final int separator;
    private final int length;
    private int[] buffer = new int[0];
    private int start;

    public TokenWindows(Iterator<int[]> records, int separator, int length) {
        this.records = records;
        this.separator = separator;
        this.length = length;
    }

    @Override
    public boolean hasNext() {
        while (buffer.length - start < length && records.hasNext()) {
            int[] record = records.next();
            int[] next = new int[buffer.length - start + record.length + 1];
            System.arraycopy(buffer, start, next, 0, buffer.length - start);
            System.arraycopy(record, 0, next, buffer.length - start, record.length);
            next[next.length - 1] = separator;
            buffer = next;
            start = 0;
        }
        return buffer.length - start >= length;
    }

    @Override
    public int[] next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int[] w = Arrays.copyOfRange(buffer, start, start + length);
        start += length - 1;
        return w;
    }
}

package dev.anneal.jobs.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Predicate;

/** The elements of an iterator that pass a test, read lazily. */
final class FilteringIterator<T> implements Iterator<T> {
    private final Iterator<T> source;
    private final Predicate<T> keep;
    private T next;

    FilteringIterator(Iterator<T> source, Predicate<T> keep) {
        this.source = source;
        this.keep = keep;
    }

    @Override
    public boolean hasNext() {
        while (next == null && source.hasNext()) {
            T candidate = source.next();
            if (keep.test(candidate)) {
                next = candidate;
            }
        }
        return next != null;
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T out = next;
        next = null;
        return out;
    }
}

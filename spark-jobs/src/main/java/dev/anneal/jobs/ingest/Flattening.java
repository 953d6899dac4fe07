package dev.anneal.jobs.ingest;

import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/** Maps each element of a lazy stream to zero or more outputs, still lazily: a partition is never held whole. */
final class Flattening<T, R> implements Iterator<R> {
    private final Iterator<T> source;
    private final Function<T, Iterable<R>> expand;
    private Iterator<R> current = Collections.emptyIterator();

    Flattening(Iterator<T> source, Function<T, Iterable<R>> expand) {
        this.source = source;
        this.expand = expand;
    }

    @Override
    public boolean hasNext() {
        while (!current.hasNext() && source.hasNext()) {
            current = expand.apply(source.next()).iterator();
        }
        return current.hasNext();
    }

    @Override
    public R next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return current.next();
    }
}

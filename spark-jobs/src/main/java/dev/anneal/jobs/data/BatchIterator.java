package dev.anneal.jobs.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;

/** Groups a lazy stream of examples into minibatches of a fixed size (the last may be smaller). */
public final class BatchIterator<T, B> implements Iterator<B> {
    private final Iterator<T> source;
    private final int size;
    private final Function<List<T>, B> toBatch;

    public BatchIterator(Iterator<T> source, int size, Function<List<T>, B> toBatch) {
        this.source = source;
        this.size = size;
        this.toBatch = toBatch;
    }

    @Override
    public boolean hasNext() {
        return source.hasNext();
    }

    @Override
    public B next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        List<T> batch = new ArrayList<>(size);
        while (batch.size() < size && source.hasNext()) {
            batch.add(source.next());
        }
        return toBatch.apply(batch);
    }
}

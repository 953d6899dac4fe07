package dev.anneal.core.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.ObjectInputFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BinaryOperator;

/**
 * A JEP 290 serialization filter that refuses every Java-deserialized class on a thread while that thread loads a
 * checkpoint, and has no say anywhere else.
 *
 * <p>Why: DL4J's loader runs {@code ObjectInputStream.readObject} on some archive entries ({@code preprocessor.bin});
 * {@link ModelArchive}'s allow-list keeps such entries out before DL4J sees the file. This filter is the second line,
 * for an entry that slips past the list (say, a DL4J version that reads another entry that way): the load fails
 * before the class's {@code readObject} runs. Anneal writes no Java-serialized objects, so refusing all of them costs
 * a valid checkpoint nothing.
 *
 * <p>Java 17 has no per-thread or per-call filter for streams one does not create, so the filter is JVM-wide: it
 * is installed once, as the static filter ({@link ObjectInputFilter.Config#setSerialFilter}), and answers
 * {@code UNDECIDED} — the JDK's behaviour without a filter — on every thread that is not inside
 * {@link #refuseAllWhile}, so Spark's and Hadoop's own Java serialization is unaffected. When the JVM already has a
 * static filter ({@code -Djdk.serialFilter=…}), it is installed as a filter factory instead that keeps that filter
 * outside checkpoint loads; Java accepts a factory only before the first {@code ObjectInputStream} is created. When
 * neither is possible (a factory set by someone else, or a static filter and streams already created) a warning says
 * so once and loads rely on the allow-list alone.
 */
final class DeserializationFilter {
    private static final Logger LOG = LoggerFactory.getLogger(DeserializationFilter.class);

    /** The classes refused on this thread during the current scope; {@code null} outside a scope. */
    private static final ThreadLocal<List<String>> REFUSED = new ThreadLocal<>();

    private static final ObjectInputFilter FILTER = info -> {
        List<String> refused = REFUSED.get();
        if (refused == null) {
            return ObjectInputFilter.Status.UNDECIDED;
        }
        refused.add(info.serialClass() != null ? info.serialClass().getName()
                : "(no class: array length " + info.arrayLength() + ", depth " + info.depth() + ")");
        return ObjectInputFilter.Status.REJECTED;
    };

    private static Boolean installed;

    private DeserializationFilter() {
    }

    /** Work that may throw {@link IOException}, as DL4J's loader does. */
    interface IoWork<T> {
        T run() throws IOException;
    }

    /**
     * Installs the filter if it is not yet installed; safe to call any number of times.
     *
     * @return whether the filter is in place
     */
    static synchronized boolean install() {
        if (installed != null) {
            return installed;
        }
        ObjectInputFilter existing = ObjectInputFilter.Config.getSerialFilter();
        try {
            if (existing == null) {
                ObjectInputFilter.Config.setSerialFilter(FILTER);
            } else {
                BinaryOperator<ObjectInputFilter> previous = ObjectInputFilter.Config.getSerialFilterFactory();
                ObjectInputFilter.Config.setSerialFilterFactory((current, requested) ->
                        REFUSED.get() != null ? FILTER : previous.apply(current, requested));
            }
            installed = true;
        } catch (IllegalStateException e) {
            LOG.warn("cannot install Anneal's deserialization filter for checkpoint loads ({}); the JVM has "
                    + "static filter {} and factory {}; checkpoints are still loaded only after their archive "
                    + "entries pass the allow-list", e.getMessage(), existing,
                    ObjectInputFilter.Config.getSerialFilterFactory());
            installed = false;
        }
        return installed;
    }

    /**
     * Runs {@code work} on this thread with every Java deserialization refused, and fails if any was attempted,
     * even when the code that attempted it caught the refusal.
     *
     * @param source what is being loaded, for the error message
     * @throws CheckpointException naming {@code source} and the refused classes
     */
    static <T> T refuseAllWhile(String source, IoWork<T> work) throws IOException {
        install();
        List<String> outer = REFUSED.get();
        List<String> refused = new ArrayList<>();
        REFUSED.set(refused);
        T result;
        try {
            result = work.run();
        } catch (IOException | RuntimeException e) {
            if (!refused.isEmpty()) {
                throw refusal(source, refused, e);
            }
            throw e;
        } finally {
            if (outer == null) {
                REFUSED.remove();
            } else {
                REFUSED.set(outer);
            }
        }
        if (!refused.isEmpty()) {
            throw refusal(source, refused, null);
        }
        return result;
    }

    private static CheckpointException refusal(String source, List<String> refused, Exception cause) {
        return new CheckpointException(source + ": loading it attempted Java deserialization of "
                + refused.stream().distinct().toList() + ", which Anneal's checkpoints never contain; refused by "
                + "the deserialization filter (DL4J reads entries such as preprocessor.bin that way)", cause);
    }
}

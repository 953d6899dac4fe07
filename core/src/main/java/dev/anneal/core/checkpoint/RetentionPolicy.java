package dev.anneal.core.checkpoint;

import java.util.Comparator;
import java.util.List;

/**
 * Which checkpoints of a run to keep: the newest {@code keepLast}, plus every one written at the end of an epoch
 * whose number is a multiple of {@code keepEveryEpochs}; 0 turns either rule off, and both 0 keeps everything. The checkpoint {@code LATEST} names
 * is always kept.
 */
public record RetentionPolicy(int keepLast, int keepEveryEpochs) {
    public static final RetentionPolicy KEEP_ALL = new RetentionPolicy(0, 0);

    public RetentionPolicy {
        if (keepLast < 0 || keepEveryEpochs < 0) {
            throw new IllegalArgumentException("retention counts must be >= 0, got keepLast=" + keepLast
                    + ", keepEveryEpochs=" + keepEveryEpochs);
        }
    }

    /**
     * A checkpoint of a run as the policy sees it.
     *
     * @param epoch    complete epochs when it was written
     * @param epochEnd written at the end of an epoch, not within one
     */
    public record Entry(String name, long step, int epoch, boolean epochEnd) {
        public Entry(String name, long step, int epoch) {
            this(name, step, epoch, true);
        }
    }

    /** The entries to delete, given all of a run's checkpoints and the name {@code LATEST} holds. */
    public List<Entry> toDelete(List<Entry> checkpoints, String latest) {
        if (keepLast == 0 && keepEveryEpochs == 0) {
            return List.of();
        }
        List<Entry> newestFirst = checkpoints.stream()
                .sorted(Comparator.comparingLong(Entry::step).reversed())
                .toList();
        return newestFirst.stream()
                .filter(e -> !e.name().equals(latest))
                .filter(e -> keepLast == 0 || newestFirst.indexOf(e) >= keepLast)
                .filter(e -> keepEveryEpochs == 0 || !e.epochEnd() || e.epoch() % keepEveryEpochs != 0)
                .toList();
    }
}

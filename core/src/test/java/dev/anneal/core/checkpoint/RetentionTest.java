package dev.anneal.core.checkpoint;

import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Retention keeps the newest K checkpoints and every N-th epoch, never the one LATEST names, and nothing foreign. */
class RetentionTest {
    private static List<RetentionPolicy.Entry> epochs(int n) {
        return java.util.stream.IntStream.rangeClosed(1, n)
                .mapToObj(e -> new RetentionPolicy.Entry("step-" + e * 10, e * 10L, e))
                .toList();
    }

    private static List<String> names(List<RetentionPolicy.Entry> entries) {
        return entries.stream().map(RetentionPolicy.Entry::name).sorted().toList();
    }

    @Test
    void keepsTheNewestK() {
        assertEquals(List.of("step-10", "step-20", "step-30"),
                names(new RetentionPolicy(2, 0).toDelete(epochs(5), "step-50")));
    }

    @Test
    void keepsEveryNthEpochBesidesTheNewest() {
        // Epochs 1..6, keep the newest 1 and every 2nd epoch: delete epochs 1, 3, 5.
        assertEquals(List.of("step-10", "step-30", "step-50"),
                names(new RetentionPolicy(1, 2).toDelete(epochs(6), "step-60")));
    }

    @Test
    void everyNthEpochMeansTheCheckpointAtThatEpochsEndNotTheOnesWithinTheNextEpoch() {
        // Epoch 2 ended at step 20; step-25 was written within epoch 3, with 2 epochs complete.
        List<RetentionPolicy.Entry> entries = List.of(new RetentionPolicy.Entry("step-10", 10, 1),
                new RetentionPolicy.Entry("step-20", 20, 2), new RetentionPolicy.Entry("step-25", 25, 2, false),
                new RetentionPolicy.Entry("step-30", 30, 3));
        assertEquals(List.of("step-10", "step-25"), names(new RetentionPolicy(1, 2).toDelete(entries, "step-30")));
    }

    @Test
    void neverDeletesWhatLatestNamesAndZeroKeepsAll() {
        // step-30 is the newest one kept; step-20 stays because LATEST names it, though it is not among the newest 1.
        assertEquals(List.of("step-10"), names(new RetentionPolicy(1, 0).toDelete(epochs(3), "step-20")));
        assertEquals(List.of(), new RetentionPolicy(0, 0).toDelete(epochs(5), "step-50"));
        assertThrows(IllegalArgumentException.class, () -> new RetentionPolicy(-1, 0));
    }

    @TempDir
    java.nio.file.Path dir;

    @Test
    void pruneDeletesOldCheckpointsOnTheFileSystemAndLeavesForeignFolders() throws IOException {
        CheckpointStore store = new CheckpointStore(new Configuration());
        Path run = new Path(dir.toUri());
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        for (int epoch = 1; epoch <= 4; epoch++) {
            store.writeStep(run, new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", epoch * 10L, epoch, 1,
                    Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of())));
        }
        Files.createDirectories(dir.resolve("checkpoints").resolve("step-999"));

        List<String> deleted = store.prune(run, new RetentionPolicy(2, 0));

        assertEquals(List.of("step-10", "step-20"), deleted.stream().sorted().toList());
        try (Stream<java.nio.file.Path> left = Files.list(dir.resolve("checkpoints"))) {
            assertEquals(List.of("LATEST", "step-30", "step-40", "step-999"),
                    left.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList(),
                    "a folder without a manifest is not Anneal's to delete");
        }
        assertEquals(40, store.read(run, false).info().step(), "LATEST still loads");
    }
}

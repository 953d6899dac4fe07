package dev.anneal.core.checkpoint;

import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With a damaged latest checkpoint, reading falls back to the newest one that verifies, and says so. */
class FallbackTest {
    @TempDir
    java.nio.file.Path dir;

    private final CheckpointStore store = new CheckpointStore(new Configuration());
    private Path run;

    @BeforeEach
    void threeCheckpoints() {
        run = new Path(dir.toUri());
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        for (int epoch = 1; epoch <= 3; epoch++) {
            store.writeStep(run, new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", epoch * 10L, epoch, 1,
                    Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of())));
        }
    }

    private void damage(String step) throws IOException {
        java.nio.file.Path model = dir.resolve("checkpoints").resolve(step).resolve(CheckpointStore.MODEL);
        Files.deleteIfExists(model.resolveSibling("." + CheckpointStore.MODEL + ".crc"));
        try (RandomAccessFile f = new RandomAccessFile(model.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0xFF);
        }
    }

    @Test
    void intactLatestIsUsedAsIs() {
        CheckpointStore.Fallback f = store.readNewestValid(run, false);
        assertEquals("step-30", f.dir().getName());
        assertTrue(f.skipped().isEmpty());
    }

    @Test
    void damagedLatestFallsBackToTheNewestValidOne() throws IOException {
        damage("step-30");
        CheckpointException plain = assertThrows(CheckpointException.class, () -> store.read(run, false));
        assertTrue(plain.getMessage().contains("step-30") && plain.getMessage().contains("sha256"), plain.getMessage());

        CheckpointStore.Fallback f = store.readNewestValid(run, false);
        assertEquals("step-20", f.dir().getName());
        assertEquals(20, f.checkpoint().info().step());
        assertEquals(1, f.skipped().size());
        assertTrue(f.skipped().get(0).startsWith("step-30: "), f.skipped().toString());
    }

    @Test
    void noValidCheckpointNamesEveryOneTried() throws IOException {
        for (String step : new String[] {"step-10", "step-20", "step-30"}) {
            damage(step);
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> store.readNewestValid(run, false));
        assertTrue(e.getMessage().contains("no valid checkpoint") && e.getMessage().contains("step-10")
                && e.getMessage().contains("step-20") && e.getMessage().contains("step-30"), e.getMessage());
    }
}

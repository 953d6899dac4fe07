package dev.anneal.core.checkpoint;

import dev.anneal.core.net.LstmLanguageModelSpec;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Measures what a checkpoint of the demo's model costs (docs/CHECKPOINTS.md quotes the printed line): its size on
 * disk and the time to write it (serialize, hash, read back and verify, rename, replace LATEST) and to read it
 * (verify, check the archive, load with the updater state), on the local filesystem.
 *
 * <p>{@code mvn -o -B test -pl core -Dtest=CheckpointFiguresTest}; add {@code -Danneal.figures=all} for a model
 * twelve times the demo's as well (about 20 s more, so not in the default run).
 */
class CheckpointFiguresTest {
    private static final int RUNS = 3;

    @TempDir
    java.nio.file.Path dir;

    @Test
    void demoModelCheckpointSizeAndTimes() throws IOException {
        Checkpoint demo = CheckpointWriterMain.demoModel(1);
        assertEquals(96_761, demo.graph().numParams(), "the demo's LSTM 1x128, embedding 32, vocabulary 89");
        Figures f = measure("demo", demo);
        // Parameters and Adam's two moments as float32, deflated: random-looking floats barely compress.
        assertTrue(f.modelBytes() > 3 * 4 * 96_761 * 0.85 && f.modelBytes() < 3 * 4 * 96_761 * 1.05,
                "model.zip of " + f.modelBytes() + " bytes");
    }

    /** The larger model's figures, on demand: {@code -Danneal.figures=all} (about 20 s more). */
    @Test
    void largerModelCheckpointSizeAndTimesOnDemand() throws IOException {
        if (!"all".equals(System.getProperty("anneal.figures"))) {
            return;
        }
        Checkpoint demo = CheckpointWriterMain.demoModel(1);
        var graph = new LstmLanguageModelSpec(demo.vocabulary().size(), 32, 512, 1)
                .build(42, new Adam(0.005), DataType.FLOAT);
        graph.getUpdater().getStateViewArray().assign(Nd4j.rand(DataType.FLOAT,
                graph.getUpdater().getStateViewArray().shape()));
        Figures f = measure("LSTM 1x512", CheckpointWriterMain.withStep(new Checkpoint(graph, demo.vocabulary(), null), 1));
        assertTrue(f.modelBytes() > 3 * 4 * graph.numParams() * 0.85, "model.zip of " + f.modelBytes() + " bytes");
    }

    private record Figures(long modelBytes) {
    }

    private Figures measure(String name, Checkpoint model) throws IOException {
        CheckpointStore store = new CheckpointStore(new Configuration());
        Path run = new Path(dir.resolve(name.replace(' ', '-')).toUri());
        List<Double> writes = new ArrayList<>();
        List<Double> reads = new ArrayList<>();
        List<Double> serializations = new ArrayList<>();
        for (int i = 0; i <= RUNS; i++) {
            long t0 = System.nanoTime();
            ModelSerializer.writeModel(model.graph(), OutputStream.nullOutputStream(), true);
            long t1 = System.nanoTime();
            store.writeStep(run, CheckpointWriterMain.withStep(model, i + 1));
            long t2 = System.nanoTime();
            store.read(run, true);
            long t3 = System.nanoTime();
            if (i > 0) {  // the first of each is JIT warm-up
                serializations.add((t1 - t0) / 1e6);
                writes.add((t2 - t1) / 1e6);
                reads.add((t3 - t2) / 1e6);
            }
        }
        java.nio.file.Path last = dir.resolve(name.replace(' ', '-')).resolve("checkpoints")
                .resolve("step-" + (RUNS + 1));
        long modelBytes = Files.size(last.resolve(CheckpointStore.MODEL));
        long total;
        try (Stream<java.nio.file.Path> files = Files.list(last)) {
            total = files.filter(p -> !p.getFileName().toString().startsWith("."))
                    .mapToLong(p -> p.toFile().length()).sum();
        }
        System.out.printf("checkpoint figures, %s model (%,d parameters): model.zip %,d bytes, checkpoint %,d bytes; "
                        + "write %.0f ms (DL4J's serialization alone: %.0f ms), read %.0f ms; median of %d after a "
                        + "warm-up, local filesystem, %d cores%n", name, model.graph().numParams(), modelBytes, total,
                median(writes), median(serializations), median(reads), RUNS,
                Runtime.getRuntime().availableProcessors());
        return new Figures(modelBytes);
    }

    private static double median(List<Double> xs) {
        List<Double> sorted = xs.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}

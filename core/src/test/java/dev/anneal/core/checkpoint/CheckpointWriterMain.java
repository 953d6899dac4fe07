package dev.anneal.core.checkpoint;

import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The writing side of {@link CrashSafetyTest}, run in a JVM of its own so that it can be killed: writes checkpoints
 * of the demo's model into a run directory in an endless loop, the way {@code pretrain} does after each epoch
 * ({@link CheckpointStore#writeStep}, then retention), continuing from the step {@code LATEST} names.
 *
 * <p>Prints {@code READY} once the model is built, waits for {@code GO} on its input, prints {@code FROM <step>} (the
 * step it continues from) and then {@code WROTE <step> <ms>} after each checkpoint, so the parent can time its kill.
 *
 * <p>Usage: {@code CheckpointWriterMain <run-dir-uri>}
 */
public final class CheckpointWriterMain {
    /** The demo's vocabulary size: with embedding 32 and LSTM 1x128 the network has 96,761 parameters. */
    static final int DEMO_VOCABULARY = 89;

    private CheckpointWriterMain() {
    }

    public static void main(String[] args) throws IOException {
        Path run = new Path(args[0]);
        Configuration conf = new Configuration();
        CheckpointStore store = new CheckpointStore(conf);
        Checkpoint model = demoModel(1);
        System.out.println("READY");
        System.out.flush();
        // Started ahead of its turn; the parent says when the previous writer is gone.
        if (!"GO".equals(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine())) {
            return;
        }
        Path checkpoints = new Path(run, CheckpointStore.CHECKPOINTS);
        long step = checkpoints.getFileSystem(conf).exists(new Path(checkpoints, CheckpointStore.LATEST))
                ? ((Number) store.manifest(run).get("step")).longValue() : 0;
        System.out.println("FROM " + step);
        System.out.flush();
        while (true) {
            step++;
            long t0 = System.nanoTime();
            store.writeStep(run, withStep(model, step));
            store.prune(run, new RetentionPolicy(3, 0));
            System.out.println("WROTE " + step + " " + (System.nanoTime() - t0) / 1_000_000);
            System.out.flush();
        }
    }

    /**
     * The demo's model (vocabulary 89, embedding 32, LSTM 1x128) after one minibatch, so that Adam's state is not
     * all zeros and the archive compresses as a trained one does.
     */
    static Checkpoint demoModel(long step) {
        Map<Integer, Long> counts = new HashMap<>();
        for (int c = 32; c < 32 + DEMO_VOCABULARY - 2; c++) {
            counts.put(c, 1000L - c);
        }
        CharVocabulary vocab = CharVocabulary.fromCounts(counts, DEMO_VOCABULARY - 2);
        ComputationGraph graph = new LstmLanguageModelSpec(vocab.size(), 32, 128, 1)
                .build(42, new Adam(0.005), DataType.FLOAT);
        java.util.Random random = new java.util.Random(42);
        int[][] windows = new int[32][65];
        for (int[] w : windows) {
            for (int i = 0; i < w.length; i++) {
                w[i] = 2 + random.nextInt(vocab.size() - 2);
            }
        }
        graph.fit(LanguageModelBatches.languageModelBatch(windows, vocab.size()));
        return withStep(new Checkpoint(graph, vocab, null), step);
    }

    static Checkpoint withStep(Checkpoint c, long step) {
        return new Checkpoint(c.graph(), c.vocabulary(), new CheckpointInfo("pretrain", step, (int) step, 42,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head", "vocabularySize",
                        c.vocabulary().size(), "embeddingSize", 32, "hiddenSize", 128, "layers", 1),
                Map.of("model.embeddingSize", 32, "model.hiddenSize", 128), Map.of()));
    }
}

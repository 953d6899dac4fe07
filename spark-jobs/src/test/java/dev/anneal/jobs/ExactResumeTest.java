package dev.anneal.jobs;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.PretrainConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run stopped in the middle of an epoch and continued from its checkpoint ends where the uninterrupted run ends:
 * parameter averaging with one worker, same seed, parameters and updater state within 1e-6. Both runs warm the
 * learning rate up and decay it by a cosine ({@code schedule.*}), so the resumed pieces must also pick the schedule
 * up at the step they reached.
 */
class ExactResumeTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    private static final String CORPUS = new File("../data-samples/text/sotu-1941-roosevelt.txt").getAbsolutePath();

    private static List<String> config(java.nio.file.Path output, String... more) {
        List<String> sets = new ArrayList<>(List.of("input=" + CORPUS, "output=" + output, "seed=7",
                "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=16", "training.batchSize=16",
                "training.workers=1", "training.epochs=2", "training.averagingFrequency=3",
                "training.learningRate=0.01", "checkpoint.everySteps=5", "checkpoint.keepLast=0",
                "schedule.decay=cosine", "schedule.warmup=0.1"));
        sets.addAll(List.of(more));
        return sets;
    }

    private static PretrainJob.Result run(List<String> sets) {
        return PretrainJob.run(PretrainConfig.SCHEMA.load(null, sets), false);
    }

    @Test
    void interruptedAndResumedRunEndsWhereTheUninterruptedOneDoes(@TempDir java.nio.file.Path dir) {
        PretrainJob.Result whole = run(config(dir.resolve("whole")));

        java.nio.file.Path pieces = dir.resolve("pieces");
        run(config(pieces, "training.stepsPerRun=13"));
        CheckpointStore store = new CheckpointStore(new Configuration());
        Checkpoint stopped = store.read(new Path(pieces.toString()), false);
        // 13 steps end at the next pass end: checkpoint.everySteps=5 cuts the passes.
        assertEquals(15, stopped.info().step(), "the first invocation stops at its step budget's pass end");
        assertEquals(Map.of("epoch", 1, "position", 15L), Map.of("epoch",
                ((Number) stopped.info().cursor().get("epoch")).intValue(), "position",
                ((Number) stopped.info().cursor().get("position")).longValue()), "cursor: " + stopped.info().cursor());
        // The second stops in the next epoch, the third finishes.
        run(config(pieces, "training.stepsPerRun=30"));
        assertEquals(45, store.read(new Path(pieces.toString()), false).info().step());
        PretrainJob.Result last = run(config(pieces));

        Checkpoint a = store.read(new Path(whole.checkpoint()), true);
        Checkpoint b = store.read(new Path(last.checkpoint()), true);
        assertTrue(a.info().step() > 45, "two epochs are more than the budgets of the first two pieces: " + a.info().step());
        assertEquals(a.info().step(), b.info().step());
        assertEquals(new Path(whole.checkpoint()).getName(), new Path(last.checkpoint()).getName());
        assertClose(a.graph().params(), b.graph().params(), "parameters");
        assertClose(a.graph().getUpdater().getStateViewArray(), b.graph().getUpdater().getStateViewArray(),
                "updater state");
        assertEquals(a.graph().getConfiguration().getIterationCount(),
                b.graph().getConfiguration().getIterationCount(), "Adam's step count");
        // The schedule is the network's, over the run's updates (two epochs of one worker: the final step count):
        // 0 at the end, and halfway the cosine after a warm-up of a tenth.
        int steps = b.graph().getConfiguration().getIterationCount();
        var updater = b.graph().getLayer("lstm_0").conf().getLayer().getUpdaterByParam("W");
        assertEquals(0, updater.getLearningRate(steps, 2), 1e-12, "rate at the end");
        long warm = Math.round(0.1 * steps);
        int half = steps / 2;
        assertEquals(0.005 * (1 + Math.cos(Math.PI * (half - warm) / (steps - warm))),
                updater.getLearningRate(half, 1), 1e-9, "rate halfway");
        assertEquals(0.01 * 3 / warm, updater.getLearningRate(2, 0), 1e-9, "rate in the warm-up");
        double lossWhole = whole.lastLoss();
        double lossPieces = last.lastLoss();
        assertEquals(lossWhole, lossPieces, 1e-6, "validation loss after the last epoch");
    }

    /**
     * The same with local SGD on two workers through barrier stages: checkpoint.everySteps cuts each epoch into passes
     * pruned from the epoch's one shuffle, which a barrier stage cannot read as they are (SPARK-24820).
     */
    @Test
    void localSgdOnPassesCutFromItsEpochsResumesWhereTheUninterruptedRunEnds(@TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        String engine = "training.engine=local-sgd";
        String workers = "training.workers=2";
        PretrainJob.Result whole = run(config(dir.resolve("whole"), engine, workers));
        java.nio.file.Path pieces = dir.resolve("pieces");
        run(config(pieces, engine, workers, "training.stepsPerRun=13"));
        PretrainJob.Result last = run(config(pieces, engine, workers));

        CheckpointStore store = new CheckpointStore(new Configuration());
        Checkpoint a = store.read(new Path(whole.checkpoint()), true);
        Checkpoint b = store.read(new Path(last.checkpoint()), true);
        assertEquals(a.info().step(), b.info().step());
        assertClose(a.graph().params(), b.graph().params(), "parameters");
        assertClose(a.graph().getUpdater().getStateViewArray(), b.graph().getUpdater().getStateViewArray(),
                "updater state");
        assertEquals(whole.lastLoss(), last.lastLoss(), 1e-6, "validation loss after the last epoch");
        // The run log counts what local SGD's workers fitted: every minibatch of each epoch, with its loss.
        int epochs = 0;
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : java.nio.file.Files.readAllLines(dir.resolve("whole").resolve(RunLog.FILE))) {
            com.fasterxml.jackson.databind.JsonNode e = json.readTree(line);
            if (e.path("event").asText().equals("epoch")) {
                epochs++;
                assertEquals(e.path("minibatchesInEpoch").asLong(), e.path("minibatches").asLong(), e.toString());
                assertTrue(e.path("trainLoss").asDouble() > 0 && e.path("samplesPerSecond").asDouble() > 0,
                        e.toString());
            }
        }
        assertEquals(2, epochs);
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.length(), actual.length(), what + " length");
        double max = Math.abs(expected.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .sub(actual.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)).maxNumber().doubleValue());
        double min = Math.abs(expected.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .sub(actual.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)).minNumber().doubleValue());
        assertTrue(Math.max(max, min) <= 1e-6, what + " differ by up to " + Math.max(max, min));
        assertTrue(expected.sumNumber().doubleValue() != 0, what + " are not all zero");
    }
}

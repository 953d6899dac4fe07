package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * How a pretraining run paces itself inside an epoch: when it checks for divergence, when it writes checkpoints and
 * how many steps one invocation trains. The engines train in passes; a pass ends at every point where one of these
 * is due, so each is honoured to the step (time-based checkpoints to the next pass end).
 *
 * @param checkpointEverySteps   write a checkpoint whenever the run's step count reaches a multiple of this;
 *                               0 = only at the end of each epoch
 * @param checkpointEveryMinutes write a checkpoint at the first pass end at least this many minutes after the last
 *                               one; 0 = off
 * @param divergenceCheckSteps   look for NaN or Inf in the parameters and the training loss at least every this many
 *                               steps; 0 = once per pass
 * @param stepsPerRun            stop this invocation, with a checkpoint, at the first pass end at or after this many
 *                               steps; the next invocation on the same output continues; 0 = train until
 *                               {@code training.epochs}
 */
public record RunCadence(long checkpointEverySteps, double checkpointEveryMinutes, int divergenceCheckSteps,
                         long stepsPerRun) {

    public RunCadence {
        Require.atLeast("checkpoint.everySteps", checkpointEverySteps, 0);
        Require.nonNegative("checkpoint.everyMinutes", checkpointEveryMinutes);
        Require.atLeast("training.divergenceCheckSteps", divergenceCheckSteps, 0);
        Require.atLeast("training.stepsPerRun", stepsPerRun, 0);
    }

    public static RunCadence perEpoch() {
        return new RunCadence(0, 0, 0, 0);
    }

    static List<ConfigField> fields() {
        return List.of(
                ConfigField.longValue("checkpoint.everySteps", 0,
                        "Also write a checkpoint whenever the step count (minibatches trained) reaches a multiple "
                                + "of this; 0 = only at the end of each epoch."),
                ConfigField.decimal("checkpoint.everyMinutes", 0,
                        "Also write a checkpoint at the first pass end this many minutes after the last one; "
                                + "0 = off. Passes are at most training.divergenceCheckSteps long."),
                ConfigField.integer("training.divergenceCheckSteps", 200,
                        "Look for NaN or Inf in the parameters and training loss at least every this many steps "
                                + "and stop with exit code 4; 0 = once per pass (epoch or checkpoint interval)."),
                ConfigField.longValue("training.stepsPerRun", 0,
                        "Stop this invocation with a checkpoint at the first pass end at or after this many steps; "
                                + "rerun to continue. "
                                + "0 = train until training.epochs are done."));
    }

    static RunCadence from(ConfigValues v) {
        return new RunCadence(v.longValue("checkpoint.everySteps"), v.decimal("checkpoint.everyMinutes"),
                v.integer("training.divergenceCheckSteps"), v.longValue("training.stepsPerRun"));
    }

    /**
     * Where the passes of an epoch end: the positions (minibatches into the epoch) after which a pass stops, in
     * increasing order, the last one being {@code end}.
     *
     * @param stepsBefore steps the run had trained when the epoch began
     * @param from        the position the epoch resumes at (0 for a fresh epoch)
     * @param size        minibatches in the epoch
     * @param end         where this invocation stops in the epoch ({@code size}, or less when
     *                    {@link #stepsPerRun()} runs out first)
     */
    public long[] passEnds(long stepsBefore, long from, long size, long end) {
        if (from < 0 || from > end || end > size) {
            throw new IllegalArgumentException("epoch positions " + from + ".." + end + " of " + size);
        }
        List<Long> ends = new ArrayList<>();
        for (long p = from + 1; p < end; p++) {
            long step = stepsBefore + p;
            if (due(step, checkpointEverySteps) || due(step, divergenceCheckSteps)) {
                ends.add(p);
            }
        }
        if (end > from) {
            ends.add(end);
        }
        return ends.stream().mapToLong(Long::longValue).toArray();
    }

    /** Whether a checkpoint is due after a pass that ended at this step. */
    public boolean checkpointDue(long step) {
        return due(step, checkpointEverySteps);
    }

    private static boolean due(long step, long every) {
        return every > 0 && step % every == 0;
    }
}

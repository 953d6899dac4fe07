package dev.anneal.jobs;

import dev.anneal.core.AnnealException;
import dev.anneal.core.config.RunCadence;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.GpuBinding;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Trains epoch after epoch in passes (see {@link RunCadence}): after each pass it looks for divergence, and writes a
 * checkpoint when one is due, so a run stopped at any moment loses only the steps since its last checkpoint and,
 * resumed from it, trains on exactly the minibatches, in the order, that the uninterrupted run would have
 * ({@link EpochPlan}).
 */
final class TrainingLoop {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    /**
     * Where a run stands.
     *
     * @param epoch    the epoch in progress, from 1
     * @param position minibatches of it trained
     * @param step     minibatches trained by the whole run
     */
    record Cursor(int epoch, long position, long step) {
        /** The manifest's {@code cursor}: where the run stands, in an epoch of {@code epochSize} over {@code data}. */
        Map<String, Object> toMap(long epochSize, Map<String, Object> data) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("epoch", epoch);
            m.put("position", position);
            m.put("epochMinibatches", epochSize);
            m.put("data", data);
            return m;
        }

        /** Complete epochs. */
        int epochsDone() {
            return epoch - 1;
        }
    }

    /**
     * What an epoch's passes in this invocation did (a resumed epoch's share only).
     *
     * @param seconds     training time, validation not included
     * @param minibatches minibatches trained
     * @param traffic     what the passes moved between driver and executors
     * @param bindings    the GPUs their training tasks were bound to
     */
    record Passes(double seconds, long minibatches, Traffic traffic, List<GpuBinding.Binding> bindings) {
    }

    /** What the job does around the passes. */
    interface Hooks {
        /** After the last pass of an epoch: validation, logging; returns the figures the checkpoint records. */
        Map<String, Object> epochEnd(int epoch, ComputationGraph graph, Passes passes);

        /** Writes a checkpoint of {@code graph} at {@code cursor}; returns where. */
        String checkpoint(ComputationGraph graph, Cursor cursor, Map<String, Object> metrics);
    }

    private final JavaSparkContext sc;
    private final TrainingEngine engine;
    private final EpochPlan plan;
    private final RunCadence cadence;
    private final int epochs;
    private final TaskRetries retries = new TaskRetries();

    TrainingLoop(JavaSparkContext sc, TrainingEngine engine, EpochPlan plan, RunCadence cadence, int epochs) {
        this.sc = sc;
        this.engine = engine;
        this.plan = plan;
        this.cadence = cadence;
        this.epochs = epochs;
    }

    /** Trains from {@code start} until the epochs are done or the run's step budget is spent; returns the end. */
    Cursor run(Cursor start, Hooks hooks) {
        sc.sc().addSparkListener(retries);
        try {
            return train(start, hooks);
        } finally {
            sc.sc().removeSparkListener(retries);
            if (retries.failedTasks() > 0 || retries.lostExecutors() > 0) {
                LOG.warn("while training: {} failed task attempt(s), {} executor(s) lost", retries.failedTasks(),
                        retries.lostExecutors());
            }
        }
    }

    /** Task attempts that failed while this loop trained (as far as Spark's listener bus has delivered them). */
    int failedTasks() {
        return retries.failedTasks();
    }

    private Cursor train(Cursor start, Hooks hooks) {
        Cursor cursor = start;
        long budget = cadence.stepsPerRun() > 0 ? cadence.stepsPerRun() : Long.MAX_VALUE;
        long trained = 0;
        long lastCheckpoint = System.nanoTime();
        long size = plan.size();
        while (cursor.epoch() <= epochs && trained < budget) {
            long epochStartStep = cursor.step() - cursor.position();
            long[] ends = cadence.passEnds(epochStartStep, cursor.position(), size, size);
            if (budget != Long.MAX_VALUE) {
                // The budget ends at a pass end the uninterrupted run also has: DL4J's workers re-cut a pass's
                // minibatches to training.batchSize (a partition's last minibatch is short), so a pass cut
                // elsewhere would train on differently composed minibatches than the run that was not stopped.
                long target = cursor.position() + (budget - trained);
                int k = 0;
                while (k < ends.length - 1 && ends[k] < target) {
                    k++;
                }
                ends = java.util.Arrays.copyOf(ends, k + 1);
            }
            EpochPlan.Epoch epoch = plan.epoch(cursor.epoch(), cursor.position(), ends);
            double seconds = 0;
            long trainedInEpoch = 0;
            Traffic traffic = Traffic.NONE;
            List<GpuBinding.Binding> bindings = new ArrayList<>();
            for (int k = 0; k < epoch.passes(); k++) {
                long t0 = System.nanoTime();
                int iterations = engine.network().getConfiguration().getIterationCount();
                ComputationGraph graph = fit(epoch, k, cursor);
                seconds += (System.nanoTime() - t0) / 1e9;
                traffic = traffic.plus(engine.lastTraffic());
                bindings.addAll(engine.deviceBindings());
                long done = epoch.end(k) - epoch.start(k);
                // Adam's bias correction counts the updates each worker made. DL4J's averaging adds
                // averagingFrequency per round, which overcounts a pass whose last round is short; so the count
                // follows the minibatches the workers were dealt, and a pass cut short by a checkpoint or the step
                // budget counts the same as the uninterrupted one.
                graph.getConfiguration().setIterationCount(
                        iterations + (int) ((done + plan.workers() - 1) / plan.workers()));
                trained += done;
                trainedInEpoch += done;
                Cursor next = new Cursor(cursor.epoch(), epoch.end(k), epochStartStep + epoch.end(k));
                OptionalDouble loss = engine.lastTrainingLoss();
                DivergenceGuard.check(graph, loss.orElse(0), "between steps " + cursor.step() + " and "
                        + next.step() + " (epoch " + cursor.epoch() + ")");
                cursor = next;
                if (cursor.position() == size) {
                    graph.getConfiguration().setEpochCount(cursor.epoch());
                    Map<String, Object> metrics = hooks.epochEnd(cursor.epoch(), graph,
                            new Passes(seconds, trainedInEpoch, traffic, List.copyOf(bindings)));
                    cursor = new Cursor(cursor.epoch() + 1, 0, cursor.step());
                    hooks.checkpoint(engine.checkpointState(), cursor, metrics);
                    lastCheckpoint = System.nanoTime();
                    break;
                }
                boolean minutesDue = cadence.checkpointEveryMinutes() > 0
                        && (System.nanoTime() - lastCheckpoint) / 60e9 >= cadence.checkpointEveryMinutes();
                if (cadence.checkpointDue(cursor.step()) || minutesDue || trained >= budget) {
                    Map<String, Object> metrics = new LinkedHashMap<>();
                    loss.ifPresent(l -> metrics.put("trainingScore", l));
                    String where = hooks.checkpoint(engine.checkpointState(), cursor, metrics);
                    lastCheckpoint = System.nanoTime();
                    LOG.info("epoch {}: {}/{} minibatches, step {}{}; checkpoint {}", cursor.epoch(),
                            cursor.position(), size, cursor.step(),
                            loss.isPresent() ? String.format(", training score %.4f", loss.getAsDouble()) : "",
                            where);
                }
            }
        }
        if (trained >= budget && cursor.epoch() <= epochs) {
            LOG.info("training.stepsPerRun={} reached at step {} (epoch {}, {}/{} minibatches); rerun to continue",
                    cadence.stepsPerRun(), cursor.step(), cursor.epoch(), cursor.position(), size);
        }
        return cursor;
    }

    /** One pass; a Spark job that failed for good becomes an error that says what survives. */
    private ComputationGraph fit(EpochPlan.Epoch epoch, int k, Cursor cursor) {
        try {
            return engine.fitPass(epoch.pass(k));
        } catch (Exception e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof AnnealException a) {
                    throw a;
                }
            }
            if (e instanceof SparkException || e.getCause() instanceof SparkException) {
                String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
                throw new TrainingFailedException("training failed in epoch " + cursor.epoch() + " between steps "
                        + cursor.step() + " and " + (cursor.step() + epoch.end(k) - epoch.start(k))
                        + ", after Spark's task retries (spark.task.maxFailures): " + first
                        + "; no checkpoint was written for it, the last one stays LATEST: rerun to continue from it",
                        e);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e);
        }
    }

    /** Training stopped because Spark gave up on a task (exit code 1). */
    static final class TrainingFailedException extends AnnealException {
        TrainingFailedException(String message, Throwable cause) {
            super(1, message, cause);
        }
    }
}

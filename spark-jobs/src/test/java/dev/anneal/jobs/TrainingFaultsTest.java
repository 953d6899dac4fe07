package dev.anneal.jobs;

import dev.anneal.core.DivergenceException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.RunCadence;
import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.TextCorpus;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.GpuBinding;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Success$;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.File;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spark's task retries under parameter averaging in {@code local[2,4]} (4 attempts per task): a task of a training
 * pass that fails once is retried and the run ends as an undisturbed one does; one that always fails stops the run
 * with a clear error and no new checkpoint; a minibatch that makes the parameters NaN stops the run within
 * {@code training.divergenceCheckSteps}, the last good checkpoint staying LATEST.
 */
class TrainingFaultsTest {
    private static final String CORPUS = new File("../data-samples/text/sotu-1941-roosevelt.txt").getAbsolutePath();
    private static final long SEED = 3;
    private static final AtomicInteger FAILED_TASKS = new AtomicInteger();
    /** Attempts of the planted task that have failed; read on the executor (the same JVM in local mode). */
    private static final AtomicInteger PLANTED_FAILURES = new AtomicInteger();

    private static SparkSession session;
    private static JavaSparkContext sc;
    private static CharVocabulary vocabulary;
    private static JavaRDD<DataSet> train;

    @BeforeAll
    static void start() {
        session = SparkSetup.session("faults", "local[2,4]");
        sc = SparkSetup.context(session);
        sc.sc().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.reason() != Success$.MODULE$) {
                    FAILED_TASKS.incrementAndGet();
                }
            }
        });
        TextCorpus corpus = TextCorpus.read(sc, CORPUS, 2);
        vocabulary = corpus.vocabulary(100);
        train = corpus.minibatches(vocabulary, 24, 16, 0, false);
    }

    @AfterAll
    static void stop() {
        session.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }

    /** A real engine whose passes go through {@code fault} (pass number from 1, the pass's dealt minibatches). */
    private record Faulty(TrainingEngine engine, BiFunction<Integer, JavaRDD<DataSet>, JavaRDD<DataSet>> fault,
                          AtomicInteger passes) implements TrainingEngine {
        @Override
        public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ComputationGraph fitPass(JavaRDD<DataSet> dealt) {
            return engine.fitPass(fault.apply(passes.incrementAndGet(), dealt));
        }

        @Override
        public ComputationGraph fitPaths(JavaRDD<String> paths) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.OptionalDouble lastTrainingLoss() {
            return engine.lastTrainingLoss();
        }

        @Override
        public List<GpuBinding.Binding> deviceBindings() {
            return engine.deviceBindings();
        }

        @Override
        public Traffic lastTraffic() {
            return engine.lastTraffic();
        }

        @Override
        public int workers() {
            return engine.workers();
        }

        @Override
        public ComputationGraph network() {
            return engine.network();
        }

        @Override
        public String name() {
            return engine.name();
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    /** Trains one epoch in passes of 5 steps with a checkpoint after each; returns the final network. */
    private static ComputationGraph train(java.nio.file.Path run,
                                          BiFunction<Integer, JavaRDD<DataSet>, JavaRDD<DataSet>> fault) {
        return train(run, fault, new RunCadence(5, 0, 5, 0));
    }

    private static ComputationGraph train(java.nio.file.Path run,
                                          BiFunction<Integer, JavaRDD<DataSet>, JavaRDD<DataSet>> fault,
                                          RunCadence cadence) {
        ComputationGraph graph = new LstmLanguageModelSpec(vocabulary.size(), 8, 16, 1).build(SEED, new Adam(0.01),
                DataType.FLOAT);
        TrainingSettings settings = TrainingSettings.parameterAveraging(1, 16, 0.01, 2, 2, 0);
        CheckpointStore store = new CheckpointStore(new Configuration());
        try (TrainingEngine engine = new Faulty(TrainingEngines.create(sc, graph, settings, SEED), fault,
                new AtomicInteger())) {
            EpochPlan plan = new EpochPlan(train, 2, SEED);
            TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
                @Override
                public Map<String, Object> epochEnd(int epoch, ComputationGraph trained, TrainingLoop.Passes passes) {
                    return Map.of();
                }

                @Override
                public String checkpoint(ComputationGraph trained, TrainingLoop.Cursor cursor,
                                         Map<String, Object> metrics) {
                    CheckpointInfo info = new CheckpointInfo("pretrain", cursor.step(), cursor.epochsDone(), SEED,
                            Map.of("kind", "test"), Map.of(), metrics, cursor.toMap(plan.size(), Map.of("input", "test")));
                    return store.writeStep(new Path(run.toString()), new Checkpoint(trained, vocabulary, info))
                            .toString();
                }
            };
            new TrainingLoop(sc, engine, plan, cadence, 1).run(new TrainingLoop.Cursor(1, 0, 0),
                    hooks);
            return engine.network();
        }
    }

    /** Partition 0 of pass {@code pass} throws while {@code attempts} of it have not yet failed. */
    private static BiFunction<Integer, JavaRDD<DataSet>, JavaRDD<DataSet>> failing(int pass, int attempts) {
        PLANTED_FAILURES.set(0);
        return (n, dealt) -> n != pass ? dealt : dealt.mapPartitionsWithIndex((index, it) -> {
            if (index == 0 && PLANTED_FAILURES.get() < attempts) {
                PLANTED_FAILURES.incrementAndGet();
                throw new IllegalStateException("planted failure in attempt "
                        + TaskContext.get().attemptNumber() + " of a training task");
            }
            return it;
        }, true);
    }

    private static List<String> checkpoints(java.nio.file.Path run) throws java.io.IOException {
        try (var s = Files.list(run.resolve("checkpoints"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-")).sorted().toList();
        }
    }

    @Test
    void aTaskThatFailsOnceIsRetriedAndTheRunEndsAsAnUndisturbedOne(@TempDir java.nio.file.Path dir)
            throws Exception {
        ComputationGraph undisturbed = train(dir.resolve("undisturbed"), (n, dealt) -> dealt);
        int failedBefore = FAILED_TASKS.get();
        ComputationGraph retried = train(dir.resolve("retried"), failing(2, 1));
        assertEquals(1, PLANTED_FAILURES.get());
        for (int i = 0; i < 50 && FAILED_TASKS.get() == failedBefore; i++) {
            Thread.sleep(100);
        }
        assertEquals(1, FAILED_TASKS.get() - failedBefore, "Spark saw the one failed attempt");
        ExactResumeTest.assertClose(undisturbed.params(), retried.params(), "parameters");
        assertEquals(checkpoints(dir.resolve("undisturbed")), checkpoints(dir.resolve("retried")));
    }

    @Test
    void checkpointsEveryFewMinutesLandAtPassEnds(@TempDir java.nio.file.Path dir) throws Exception {
        // No step rule; a time rule already due at every pass end (passes end every 7 steps for the check).
        train(dir, (n, dealt) -> dealt, new RunCadence(0, 1e-9, 7, 0));
        List<String> written = checkpoints(dir);
        assertTrue(written.size() >= 3 && written.containsAll(List.of("step-7", "step-14", "step-21")), written.toString());
        train(dir.resolve("hourly"), (n, dealt) -> dealt, new RunCadence(0, 60, 7, 0));
        assertEquals(1, checkpoints(dir.resolve("hourly")).size(), "an hourly rule writes only the epoch's end");
    }

    @Test
    void aTaskThatAlwaysFailsStopsTheRunWithNoNewCheckpoint(@TempDir java.nio.file.Path dir) throws Exception {
        TrainingLoop.TrainingFailedException e = assertThrows(TrainingLoop.TrainingFailedException.class,
                () -> train(dir, failing(3, Integer.MAX_VALUE)));
        assertEquals(1, e.exitCode());
        assertEquals(4, PLANTED_FAILURES.get(), "local[2,4] gives a task 4 attempts");
        assertTrue(e.getMessage().contains("between steps 10 and 15") && e.getMessage().contains("planted failure")
                && e.getMessage().contains("spark.task.maxFailures") && e.getMessage().contains("LATEST"),
                e.getMessage());
        assertEquals(List.of("step-10", "step-5"), checkpoints(dir), "passes 1 and 2 were saved, nothing after");
        assertEquals("step-10", Files.readString(dir.resolve("checkpoints/LATEST")).trim());
    }

    @Test
    void divergenceStopsTheRunWithinTheCheckIntervalAndLatestStaysGood(@TempDir java.nio.file.Path dir)
            throws Exception {
        // Pass 3 (steps 10..15) gets a minibatch whose labels are NaN.
        BiFunction<Integer, JavaRDD<DataSet>, JavaRDD<DataSet>> poison = (n, dealt) -> n != 3 ? dealt
                : dealt.mapPartitionsWithIndex((index, it) -> {
                    if (index != 0 || !it.hasNext()) {
                        return it;
                    }
                    DataSet first = it.next();
                    DataSet bad = new DataSet(first.getFeatures(), first.getLabels().dup().assign(Float.NaN),
                            first.getFeaturesMaskArray(), first.getLabelsMaskArray());
                    return java.util.stream.Stream.concat(java.util.stream.Stream.of(bad),
                            java.util.stream.StreamSupport.stream(
                                    java.util.Spliterators.spliteratorUnknownSize(it, 0), false)).iterator();
                }, true);
        DivergenceException e = assertThrows(DivergenceException.class, () -> train(dir, poison));
        assertEquals(4, e.exitCode());
        assertTrue(e.getMessage().contains("between steps 10 and 15"), e.getMessage());
        assertEquals(List.of("step-10", "step-5"), checkpoints(dir));
        Checkpoint latest = new CheckpointStore(new Configuration()).read(new Path(dir.toString()), false);
        assertEquals(10, latest.info().step());
        assertTrue(Double.isFinite(latest.graph().params().sumNumber().doubleValue()), "LATEST holds no NaN");
    }
}

package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * DL4J's synchronous parameter averaging: each worker fits its share of the minibatches, and every
 * {@code averagingFrequency} minibatches the driver averages parameters and updater state.
 */
public final class ParameterAveragingEngine extends Dl4jSparkEngine {
    private final int averagingFrequency;
    /** Whether {@link #fits} persisted the current pass (and so releases it). */
    private boolean persisted;

    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings) {
        this(sc, network, settings, Repartition.Always);
    }

    /**
     * @param repartition {@code Never} keeps the caller's partitioning and order, which the equivalence test against
     *                    single-JVM training relies on; {@code Always} balances the minibatches over the workers
     *                    (the engine does it, not DL4J: see {@link Dl4jSparkEngine})
     */
    public ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings,
                                    Repartition repartition) {
        this(sc, network, settings, repartition, new StepCountHook());
    }

    private ParameterAveragingEngine(JavaSparkContext sc, ComputationGraph network, EngineSettings settings,
                                     Repartition repartition, StepCountHook stepCount) {
        super(sc, network, new ParameterAveragingTrainingMaster.Builder(
                settings.workers(), settings.training().batchSize())
                .batchSizePerWorker(settings.training().batchSize())
                .averagingFrequency(settings.training().averagingFrequency())
                .workerPrefetchNumBatches(settings.training().prefetch())
                .saveUpdater(true)
                // Each averaging round filters its share out of the whole persisted pass, so DL4J's default
                // MEMORY_ONLY_SER would deserialize every minibatch of the pass once per round.
                .storageLevel(StorageLevel.MEMORY_ONLY())
                // Direct trains from the RDD itself; the Export default writes DataSet files to the default
                // filesystem first and refuses a cluster master when that filesystem is local.
                .rddTrainingApproach(RDDTrainingApproach.Direct)
                .repartionData(Repartition.Never)
                .rngSeed(settings.seed())
                .collectTrainingStats(false)
                .trainingHooks(stepCount)
                .build(), settings.workers(), repartition == Repartition.Always,
                settings.seed());
        stepCount.attach(spark);
        this.averagingFrequency = settings.training().averagingFrequency();
    }

    /**
     * One fit per averaging round, each worker's partition contributing at most {@code averagingFrequency}
     * minibatches to it. DL4J's worker fits at most that many per round and drops the rest of its share, and DL4J
     * cuts a fit of several rounds at random, so a partition's share of a round could exceed it: handed the whole
     * pass, it left out minibatches (24 of 26 per epoch in one measured run). A pass that fits in one round is
     * handed over whole.
     */
    @Override
    protected List<JavaRDD<DataSet>> fits(JavaRDD<DataSet> dealt) {
        int f = averagingFrequency;
        if (dealt.getNumPartitions() > workers()) {
            // More partitions than workers: DL4J runs them as separate tasks of a round anyway; keep its split.
            return List.of(dealt);
        }
        // Deserialised, the rounds read the pass from memory instead of recomputing it (a shuffle read) each time.
        persisted = dealt.getStorageLevel().equals(StorageLevel.NONE());
        if (persisted) {
            dealt.persist(StorageLevel.MEMORY_ONLY());
        }
        int largest = dealt.mapPartitions(Count::partition).collect().stream().mapToInt(Integer::intValue).max()
                .orElse(0);
        if (largest <= f) {
            return List.of(dealt);
        }
        List<JavaRDD<DataSet>> rounds = new ArrayList<>();
        for (int start = 0; start < largest; start += f) {
            rounds.add(dealt.mapPartitions(new Slice(start, f), true));
        }
        return rounds;
    }

    @Override
    protected void release(JavaRDD<DataSet> dealt) {
        if (persisted) {
            dealt.unpersist(false);
            persisted = false;
        }
    }

    /** Minibatches {@code [start, start + length)} of each partition. */
    private record Slice(int start, int length) implements FlatMapFunction<Iterator<DataSet>, DataSet> {
        @Override
        public Iterator<DataSet> call(Iterator<DataSet> partition) {
            List<DataSet> out = new ArrayList<>(length);
            for (int i = 0; partition.hasNext() && i < start + length; i++) {
                DataSet next = partition.next();
                if (i >= start) {
                    out.add(next);
                }
            }
            return out.iterator();
        }
    }

    private static final class Count {
        static Iterator<Integer> partition(Iterator<DataSet> minibatches) {
            int n = 0;
            for (; minibatches.hasNext(); minibatches.next()) {
                n++;
            }
            return List.of(n).iterator();
        }
    }

    @Override
    public String name() {
        return "parameter-averaging";
    }
}

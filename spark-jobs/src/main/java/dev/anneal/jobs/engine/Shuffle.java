package dev.anneal.jobs.engine;

import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * Deals a pass's minibatches to the workers like cards: each input partition is shuffled and dealt round-robin from
 * a random first worker, so every worker gets the same number (±1 per input partition), and each worker's share is
 * shuffled again, so which minibatches a worker sees, and in what order, changes from pass to pass (as DL4J's own
 * balanced repartitioning did) while staying reproducible for a given seed. The last step is a narrow transformation
 * of the shuffle's output, so it runs in the training task itself.
 */
final class Shuffle {
    private Shuffle() {
    }

    static JavaRDD<DataSet> deal(JavaRDD<DataSet> minibatches, int workers, long seed) {
        return minibatches
                .mapPartitionsWithIndex((index, it) -> dealt(index, it, workers, seed), false)
                .mapToPair(t -> t)
                .partitionBy(new HashPartitioner(workers))
                .values()
                .mapPartitionsWithIndex((index, it) -> shuffled(it, new Random(seed * 31 + index + 1)), true);
    }

    /**
     * Deals the minibatches to the workers round-robin in their order, without shuffling: with one input partition
     * each worker keeps the input's order (Spark's sort shuffle keeps a map output's order for each reducer).
     */
    static JavaRDD<DataSet> inOrder(JavaRDD<DataSet> minibatches, int workers) {
        return minibatches
                .mapPartitionsWithIndex((index, it) -> {
                    List<Tuple2<Integer, DataSet>> out = new ArrayList<>();
                    for (int i = 0; it.hasNext(); i++) {
                        out.add(new Tuple2<>((index + i) % workers, it.next()));
                    }
                    return out.iterator();
                }, false)
                .mapToPair(t -> t)
                .partitionBy(new HashPartitioner(workers))
                .values();
    }

    /**
     * The same partitions, in the same order, through a shuffle: partition {@code i} goes whole to reducer {@code i},
     * which reads that one map output in its order. A stage that starts at a shuffle meets barrier mode's rule that
     * every RDD in it has the stage's partition count, which a pass cut from a larger shuffle ({@link EpochPlan})
     * does not.
     */
    static JavaRDD<DataSet> again(JavaRDD<DataSet> dealt) {
        return dealt
                .mapPartitionsWithIndex((index, it) -> new Iterator<Tuple2<Integer, DataSet>>() {
                    @Override
                    public boolean hasNext() {
                        return it.hasNext();
                    }

                    @Override
                    public Tuple2<Integer, DataSet> next() {
                        return new Tuple2<>(index, it.next());
                    }
                }, true)
                .mapToPair(t -> t)
                .partitionBy(new HashPartitioner(dealt.getNumPartitions()))
                .values();
    }

    private static Iterator<Tuple2<Integer, DataSet>> dealt(int partition, Iterator<DataSet> it, int workers,
                                                           long seed) {
        Random random = new Random(seed + partition);
        List<DataSet> batches = new ArrayList<>();
        it.forEachRemaining(batches::add);
        Collections.shuffle(batches, random);
        int first = random.nextInt(workers);
        List<Tuple2<Integer, DataSet>> out = new ArrayList<>(batches.size());
        for (int i = 0; i < batches.size(); i++) {
            out.add(new Tuple2<>((first + i) % workers, batches.get(i)));
        }
        return out.iterator();
    }

    private static <T> Iterator<T> shuffled(Iterator<T> it, Random random) {
        List<T> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        Collections.shuffle(all, random);
        return all.iterator();
    }
}

package dev.anneal.jobs.engine;

import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.rdd.RDD;
import org.nd4j.linalg.dataset.DataSet;
import scala.Function1;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The order of an epoch's minibatches and its division into passes, fixed by the seed and the epoch number alone,
 * so a run resumed in the middle of an epoch trains on exactly what the uninterrupted run would have.
 *
 * <p>Each minibatch has a global index (its partition's offset plus its place in the partition, counted once when
 * the plan is made). An epoch permutes the indices ({@link IndexPermutation}); a minibatch's image is its position in
 * the epoch. One shuffle per epoch sends each minibatch to the pass its position falls in and, within the pass, to
 * worker {@code (position - passStart) mod workers}, sorted by position: so each pass is already dealt, evenly, in a
 * reproducible order, and reads only its own shuffle blocks. Minibatches before the resume position never leave
 * their map task.
 */
public final class EpochPlan {
    private final JavaRDD<DataSet> minibatches;
    private final int workers;
    private final long seed;
    private final long[] offsets;
    private final long size;
    private final long examples;

    /** Counts the minibatches of each partition (one Spark job). */
    public EpochPlan(JavaRDD<DataSet> minibatches, int workers, long seed) {
        this.minibatches = minibatches;
        this.workers = workers;
        this.seed = seed;
        List<long[]> counts = minibatches.mapPartitionsWithIndex((p, it) -> {
            long batches = 0;
            long n = 0;
            while (it.hasNext()) {
                batches++;
                n += it.next().numExamples();
            }
            return List.of(new long[] {p, batches, n}).iterator();
        }, true).collect();
        this.offsets = new long[minibatches.getNumPartitions() + 1];
        long total = 0;
        for (long[] c : counts) {
            offsets[(int) c[0] + 1] = c[1];
            total += c[2];
        }
        Arrays.parallelPrefix(offsets, Long::sum);
        this.size = offsets[offsets.length - 1];
        this.examples = total;
    }

    /** Minibatches in an epoch. */
    public long size() {
        return size;
    }

    /** Examples in an epoch. */
    public long examples() {
        return examples;
    }

    public int workers() {
        return workers;
    }

    /**
     * The passes of one epoch, from position {@code from} to the last of {@code ends}; pass {@code k} covers positions
     * {@code [ends[k-1], ends[k])} (the first starts at {@code from}).
     */
    public Epoch epoch(int epoch, long from, long[] ends) {
        if (ends.length == 0 || from < 0 || ends[ends.length - 1] > size) {
            throw new IllegalArgumentException("passes " + Arrays.toString(ends) + " from " + from + " of " + size);
        }
        IndexPermutation permutation = new IndexPermutation(Math.max(1, size),
                IndexPermutation.mix(seed * 0x9E3779B97F4A7C15L + epoch));
        long[] partitionOffsets = offsets;
        long end = ends[ends.length - 1];
        JavaPairRDD<Long, DataSet> placed = minibatches.mapPartitionsWithIndex(
                (p, it) -> new Placed(it, partitionOffsets[p], permutation, from, end), false).mapToPair(t -> t);
        return new Epoch(placed.repartitionAndSortWithinPartitions(new PassPartitioner(from, ends, workers)),
                from, ends.clone(), workers);
    }

    /** One epoch's placed minibatches; keep it while its passes train, so its shuffle output stays. */
    public static final class Epoch {
        private final JavaPairRDD<Long, DataSet> placed;
        private final long from;
        private final long[] ends;
        private final int workers;

        private Epoch(JavaPairRDD<Long, DataSet> placed, long from, long[] ends, int workers) {
            this.placed = placed;
            this.from = from;
            this.ends = ends;
            this.workers = workers;
        }

        public int passes() {
            return ends.length;
        }

        /** Where pass {@code k} starts (a position in the epoch). */
        public long start(int k) {
            return k == 0 ? from : ends[k - 1];
        }

        /** Where pass {@code k} ends (exclusive). */
        public long end(int k) {
            return ends[k];
        }

        /** Pass {@code k}: one partition per worker, each in its training order. */
        public JavaRDD<DataSet> pass(int k) {
            int first = k * workers;
            int last = first + workers;
            Function1<Object, Object> keep = (Function1<Object, Object> & Serializable)
                    index -> (Integer) index >= first && (Integer) index < last;
            RDD<Tuple2<Long, DataSet>> pruned = PartitionPruningRDD.create(placed.rdd(), keep);
            ClassTag<Tuple2<Long, DataSet>> tag = ClassTag$.MODULE$.apply(Tuple2.class);
            return new JavaRDD<>(pruned, tag).map(Tuple2::_2);
        }
    }

    /** Partition {@code pass * workers + worker}; see {@link EpochPlan}. */
    static final class PassPartitioner extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final long from;
        private final long[] ends;
        private final int workers;

        PassPartitioner(long from, long[] ends, int workers) {
            this.from = from;
            this.ends = ends.clone();
            this.workers = workers;
        }

        @Override
        public int numPartitions() {
            return ends.length * workers;
        }

        @Override
        public int getPartition(Object key) {
            long position = (Long) key;
            int k = Arrays.binarySearch(ends, position);
            k = k >= 0 ? k + 1 : -k - 1;
            long start = k == 0 ? from : ends[k - 1];
            return k * workers + (int) ((position - start) % workers);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PassPartitioner p && p.from == from && p.workers == workers
                    && Arrays.equals(p.ends, ends);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(ends) * 31 + workers;
        }
    }

    /** A partition's minibatches with their positions, those outside {@code [from, end)} left out, one at a time. */
    private static final class Placed implements Iterator<Tuple2<Long, DataSet>> {
        private final Iterator<DataSet> in;
        private final IndexPermutation permutation;
        private final long from;
        private final long end;
        private long index;
        private Tuple2<Long, DataSet> next;

        Placed(Iterator<DataSet> in, long offset, IndexPermutation permutation, long from, long end) {
            this.in = in;
            this.index = offset;
            this.permutation = permutation;
            this.from = from;
            this.end = end;
        }

        @Override
        public boolean hasNext() {
            while (next == null && in.hasNext()) {
                DataSet ds = in.next();
                long position = permutation.apply(index++);
                if (position >= from && position < end) {
                    next = new Tuple2<>(position, ds);
                }
            }
            return next != null;
        }

        @Override
        public Tuple2<Long, DataSet> next() {
            if (!hasNext()) {
                throw new java.util.NoSuchElementException();
            }
            Tuple2<Long, DataSet> t = next;
            next = null;
            return t;
        }
    }
}

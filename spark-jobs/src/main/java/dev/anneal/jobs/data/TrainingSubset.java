package dev.anneal.jobs.data;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import scala.Tuple2;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Limits a training split to N labelled records, stratified by class and seeded ({@code split.trainExamples}): each
 * class gets its share of N by the largest-remainder method (at least one record while N allows), and within a class
 * the records with the smallest seeded hash of their key are taken, ties broken by position. Only per-class counts
 * and the chosen records' positions reach the driver. The same records, seed and N always give the same subset, and
 * a larger N keeps every record a smaller one chose whenever the per-class quotas do not shrink.
 */
public final class TrainingSubset {
    private TrainingSubset() {
    }

    /**
     * The first {@code n} records of {@code train} in the seeded per-class order, or {@code train} itself when
     * {@code n} is 0 or at least its size.
     *
     * @param key     a stable identity of a record (its text, or its image bytes as a string)
     * @param stratum the record's class
     */
    public static <T> JavaRDD<T> stratified(JavaRDD<T> train, int n, long seed, Function<T, String> key,
                                            Function<T, String> stratum) {
        if (n <= 0) {
            return train;
        }
        Map<String, Long> counts = new TreeMap<>(train.map(stratum).countByValue());
        long total = counts.values().stream().mapToLong(Long::longValue).sum();
        if (n >= total) {
            return train;
        }
        Map<String, Integer> quotas = quotas(counts, n);
        JavaRDD<Tuple2<T, Long>> indexed = train.zipWithIndex().map(t -> new Tuple2<>(t._1(), (Long) t._2()));
        Set<Long> chosen = new HashSet<>();
        for (Map.Entry<String, Integer> q : quotas.entrySet()) {
            if (q.getValue() == 0) {
                continue;
            }
            String c = q.getKey();
            // (hash, position) pairs: Kryo, Spark's serializer here, cannot carry Java records.
            List<Tuple2<Long, Long>> first = indexed.filter(t -> stratum.call(t._1()).equals(c))
                    .map(t -> new Tuple2<>(hash(seed, key.call(t._1())), t._2()))
                    .takeOrdered(q.getValue(), new RankOrder());
            first.forEach(r -> chosen.add(r._2()));
        }
        return indexed.filter(t -> chosen.contains(t._2())).map(Tuple2::_1);
    }

    /**
     * Each class's share of {@code n} by the largest-remainder method, classes in name order; every class gets at
     * least one record while {@code n} is at least the number of classes, and never more than it has.
     */
    static Map<String, Integer> quotas(Map<String, Long> counts, int n) {
        long total = counts.values().stream().mapToLong(Long::longValue).sum();
        Map<String, Integer> quotas = new TreeMap<>();
        List<Map.Entry<String, Double>> remainders = new ArrayList<>();
        int given = 0;
        for (Map.Entry<String, Long> e : new TreeMap<>(counts).entrySet()) {
            double exact = (double) n * e.getValue() / total;
            int q = (int) Math.floor(exact);
            if (q == 0 && n >= counts.size()) {
                q = 1;
            }
            q = (int) Math.min(q, e.getValue());
            quotas.put(e.getKey(), q);
            given += q;
            remainders.add(Map.entry(e.getKey(), exact - Math.floor(exact)));
        }
        remainders.sort(Map.Entry.<String, Double>comparingByValue().reversed());
        // Hand out what flooring left, largest remainder first; take back from the largest classes when the
        // at-least-one rule gave too much.
        for (int i = 0; given < n; i = (i + 1) % remainders.size()) {
            String c = remainders.get(i).getKey();
            if (quotas.get(c) < counts.get(c)) {
                quotas.put(c, quotas.get(c) + 1);
                given++;
            }
        }
        while (given > n) {
            String largest = quotas.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            quotas.put(largest, quotas.get(largest) - 1);
            given--;
        }
        return quotas;
    }

    /** A seeded 64-bit hash of a record's key: FNV-1a over its UTF-8 bytes, finished by SplitMix64's mixer. */
    static long hash(long seed, String key) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h += 0x9e3779b97f4a7c15L;
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }

    /** A record's place in the seeded order: its hash, then its position in the split. */
    private static final class RankOrder implements Comparator<Tuple2<Long, Long>>, Serializable {
        @Override
        public int compare(Tuple2<Long, Long> a, Tuple2<Long, Long> b) {
            int c = Long.compare(a._1(), b._1());
            return c != 0 ? c : Long.compare(a._2(), b._2());
        }
    }
}

package dev.anneal.jobs.score;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows a job could not score, as JSON Lines: {@code reason}, {@code file} (where the row came from) and
 * {@code record} (the row itself as JSON, or the line that was not JSON), so each can be found and fixed.
 */
public final class Quarantine {
    public static final String DIR = "quarantine";
    private static final int RECORD_CHARS = 2000;
    private static final StructType SCHEMA = new StructType().add("reason", DataTypes.StringType)
            .add("file", DataTypes.StringType).add("record", DataTypes.StringType);

    private Quarantine() {
    }

    /** Writes the unscored rows under {@code dir}; nothing when there are none. */
    public static void write(SparkSession spark, JavaRDD<Scorer.Scored> scored, ScoringInput input, String dir,
                             long count) {
        if (count == 0) {
            return;
        }
        int file = input.schema().fieldIndex(ScoringInput.FILE);
        int corrupt = input.corruptIndex();
        JavaRDD<Row> rows = scored.filter(s -> !s.ok()).map(s -> {
            Row r = s.row();
            String record = corrupt >= 0 && r.get(corrupt) != null ? r.get(corrupt).toString() : r.json();
            if (record.length() > RECORD_CHARS) {
                record = record.substring(0, RECORD_CHARS - 3) + "...";
            }
            return RowFactory.create(s.reason(), String.valueOf(r.get(file)), record);
        });
        spark.createDataFrame(rows, SCHEMA).write().json(dir);
    }

    /** How many rows each reason quarantined, most first, at most 20 reasons. */
    public static Map<String, Long> reasons(JavaRDD<Scorer.Scored> scored) {
        Map<String, Long> counts = new LinkedHashMap<>();
        List<scala.Tuple2<String, Long>> top = scored.filter(s -> !s.ok())
                .mapToPair(s -> new scala.Tuple2<>(s.reason(), 1L)).reduceByKey(Long::sum)
                .takeOrdered(20, new ByCount());
        top.forEach(t -> counts.put(t._1(), t._2()));
        return counts;
    }

    private static final class ByCount implements java.util.Comparator<scala.Tuple2<String, Long>>,
            java.io.Serializable {
        @Override
        public int compare(scala.Tuple2<String, Long> a, scala.Tuple2<String, Long> b) {
            int c = Long.compare(b._2(), a._2());
            return c != 0 ? c : a._1().compareTo(b._1());
        }
    }
}

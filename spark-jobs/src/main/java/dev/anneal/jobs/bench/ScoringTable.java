package dev.anneal.jobs.bench;

import dev.anneal.core.task.StableSplit;
import dev.anneal.jobs.SparkSetup;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;

/**
 * Writes a Parquet table for the scoring benchmark: the records of a JSON Lines file, {@code copies} times over (each
 * copy's id suffixed with its number), in {@code partitions} files; with a split name, only the records fine-tuning
 * put in that split (by the stable hash of the text, with {@code finetune}'s default fractions 0.15 and 0.15).
 *
 * <p>{@code ScoringTable INPUT.jsonl OUTPUT.parquet [copies] [partitions] [train|validation|test]}
 */
public final class ScoringTable {
    private ScoringTable() {
    }

    public static void main(String[] args) {
        int copies = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        int partitions = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        SparkSession spark = SparkSetup.session("bench scoring-table", "local[2]");
        Dataset<Row> records = spark.read().json(args[0]);
        if (args.length > 4) {
            String split = args[4].toUpperCase(java.util.Locale.ROOT);
            records = records.filter((org.apache.spark.api.java.function.FilterFunction<Row>) r ->
                    StableSplit.of(r.getAs("text"), 0.15, 0.15).name().equals(split));
        }
        Dataset<Row> table = records.crossJoin(spark.range(copies).withColumnRenamed("id", "copy"))
                .withColumn("id", concat_ws("#", col("id"), col("copy").cast("string"))).drop("copy")
                .repartition(partitions);
        table.write().mode("overwrite").parquet(args[1]);
        System.out.printf("%s: %d rows in %d files%n", args[1], spark.read().parquet(args[1]).count(), partitions);
        spark.stop();
    }
}

package dev.anneal.jobs.ingest;

import dev.anneal.core.InputException;
import dev.anneal.core.config.IngestConfig;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * Parquet files with a text column (and a label and id column when the config names them). A record's offset is its
 * row's index in its file (Spark's {@code _metadata.row_index}), so a quarantined row can be found again.
 */
final class ParquetSource {
    private ParquetSource() {
    }

    static JavaRDD<RawRecord> read(SparkSession spark, IngestConfig config, int partitions) {
        RecordChecks checks = new RecordChecks(config);
        Dataset<Row> df = spark.read().parquet(config.input());
        List<String> columns = Arrays.asList(df.columns());
        List<String> needed = new ArrayList<>(List.of(config.textField()));
        if (!config.labelField().isBlank()) {
            needed.add(config.labelField());
        }
        if (!config.idField().isBlank()) {
            needed.add(config.idField());
        }
        for (String c : needed) {
            if (!columns.contains(c)) {
                throw new InputException(config.input() + ": no column '" + c + "'; columns: " + columns);
            }
        }
        Column label = config.labelField().isBlank() ? lit(null).cast("string") : col(config.labelField()).cast("string");
        Column id = config.idField().isBlank() ? lit(null).cast("string") : col(config.idField()).cast("string");
        boolean labeled = !config.labelField().isBlank();
        String labelField = config.labelField();
        JavaRDD<Row> rows = df.select(col(config.textField()).cast("string"), label, id,
                col("_metadata.file_path"), col("_metadata.row_index")).javaRDD();
        if (partitions > rows.getNumPartitions()) {
            rows = rows.repartition(partitions);
        }
        return rows.flatMap(r -> {
            String source = r.getString(3);
            long offset = r.getLong(4);
            String text = r.getString(0);
            if (text == null) {
                return List.of(RawRecord.bad(source, offset, RecordChecks.NO_TEXT, "null")).iterator();
            }
            int labelIndex = RawRecord.NO_LABEL;
            if (labeled) {
                labelIndex = checks.labelIndex(r.getString(1));
                if (labelIndex < 0) {
                    return List.of(RawRecord.bad(source, offset, RecordChecks.BAD_LABEL + " " + checks.labels(),
                            labelField + "=" + r.getString(1) + " " + RecordChecks.excerpt(text))).iterator();
                }
            }
            return checks.text(source, offset, r.getString(2), text, labelIndex).iterator();
        });
    }
}

package dev.anneal.jobs.data;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.trim;

/**
 * Reads labeled text from JSON Lines or Parquet with Spark SQL. Every record must have non-blank text and a label of
 * 0 or 1; otherwise the read fails naming the first bad record and how many there are, so nothing is dropped
 * silently.
 */
public final class LabeledTextSource {
    private static final String CORRUPT = "_corrupt_record";

    private LabeledTextSource() {
    }

    /** Whether {@code input} is Parquet: a .parquet path, or a directory of .parquet files. */
    public static boolean isParquet(String input, Configuration hadoopConf) {
        if (input.endsWith(".parquet")) {
            return true;
        }
        Path path = new Path(input);
        try {
            FileSystem fs = path.getFileSystem(hadoopConf);
            if (!fs.exists(path)) {
                throw new InputException("input not found: " + input);
            }
            if (!fs.getFileStatus(path).isDirectory()) {
                return false;
            }
            for (FileStatus f : fs.listStatus(path)) {
                if (f.getPath().getName().endsWith(".parquet")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new InputException("cannot read input " + input + ": " + e.getMessage(), e);
        }
    }

    public static JavaRDD<LabeledText> read(SparkSession spark, String input, String textField, String labelField,
                                            boolean parquet) {
        Dataset<Row> df = parquet
                ? spark.read().parquet(input)
                : spark.read().option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT).json(input);
        List<String> columns = Arrays.asList(df.columns());
        boolean hasCorrupt = columns.contains(CORRUPT);
        if (hasCorrupt) {
            // Spark refuses queries on the corrupt-record column of raw JSON unless the rows are materialized.
            df = df.cache();
        }
        for (String field : new String[] {textField, labelField}) {
            if (!columns.contains(field)) {
                throw new InputException(input + ": no field '" + field + "' in its records; fields: "
                        + columns.stream().filter(c -> !c.equals(CORRUPT)).toList());
            }
        }
        Column label = col(labelField).cast("double");
        Column bad = col(textField).isNull().or(trim(col(textField).cast("string")).equalTo(lit("")))
                .or(label.isNull()).or(label.isin(0.0, 1.0).unary_$bang());
        if (hasCorrupt) {
            bad = bad.or(col(CORRUPT).isNotNull());
        }
        Dataset<Row> badRows = df.filter(bad);
        long badCount = badRows.count();
        if (badCount > 0) {
            Row first = badRows.first();
            throw new InputException(input + ": " + badCount + " record(s) without valid '" + textField + "' and '"
                    + labelField + "' (0 or 1); the first: " + describe(first, columns, textField, labelField));
        }
        return df.select(col(textField).cast("string"), label.cast("int")).javaRDD()
                .map(r -> new LabeledText(r.getString(0), r.getInt(1)));
    }

    private static String describe(Row row, List<String> columns, String textField, String labelField) {
        if (columns.contains(CORRUPT) && row.getAs(CORRUPT) != null) {
            return "not valid JSON: " + excerpt(row.getAs(CORRUPT).toString());
        }
        StringBuilder sb = new StringBuilder();
        if (columns.contains("id") && row.getAs("id") != null) {
            sb.append("id ").append(row.getAs("id").toString()).append(", ");
        }
        Object text = row.getAs(textField);
        Object label = row.getAs(labelField);
        sb.append(labelField).append('=').append(label).append(", ").append(textField).append('=')
                .append(text == null ? "null" : '"' + excerpt(text.toString()) + '"');
        return sb.toString();
    }

    private static String excerpt(String s) {
        String oneLine = s.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 80 ? oneLine : oneLine.substring(0, 77) + "...";
    }
}

package dev.anneal.jobs.score;

import dev.anneal.core.InputException;
import dev.anneal.jobs.data.LabeledTextSource;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;

/**
 * A table to score, as rows: Parquet, JSON Lines (a line that is not JSON keeps its text in
 * {@value #CORRUPT}) or a dataset directory's split (its tokens decoded to text). Every row carries the file it came
 * from in {@value #FILE}, so a quarantined row names its file.
 *
 * @param columns the input's own columns, without the two above
 */
public record ScoringInput(String input, Dataset<Row> table, List<String> columns) {
    public static final String CORRUPT = "_corrupt_record";
    public static final String FILE = "_file";
    /** The reason of a line that is not JSON. */
    public static final String NOT_JSON = "not valid JSON";

    public static ScoringInput read(SparkSession spark, String input, String textField, String labelField,
                                    String split) {
        var hadoop = spark.sparkContext().hadoopConfiguration();
        Dataset<Row> df;
        if (DatasetFiles.isDataset(input, hadoop)) {
            StructType schema = new StructType().add(textField, DataTypes.StringType)
                    .add(labelField, DataTypes.IntegerType);
            var rows = ShardedCorpus.open(spark, input).labeledText().filter(t -> t._1().equals(split))
                    .map(t -> RowFactory.create(t._2().text(), t._2().label()));
            df = spark.createDataFrame(rows, schema).withColumn(FILE, lit(input + " (" + split + ")"));
        } else if (LabeledTextSource.isParquet(input, hadoop)) {
            df = spark.read().parquet(input).withColumn(FILE, input_file_name());
        } else {
            df = spark.read().option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT).json(input)
                    .withColumn(FILE, input_file_name());
        }
        List<String> columns = Arrays.stream(df.columns()).filter(c -> !c.equals(CORRUPT) && !c.equals(FILE))
                .toList();
        if (columns.isEmpty()) {
            throw new InputException(input + ": no records with fields");
        }
        return new ScoringInput(input, df, columns);
    }

    /**
     * The rows, in at least {@code parallelism} partitions: a small file is one partition, and scoring is worth
     * spreading over every executor core.
     */
    public JavaRDD<Row> rows(int parallelism) {
        JavaRDD<Row> rows = table.javaRDD();
        return rows.getNumPartitions() < parallelism ? rows.repartition(parallelism) : rows;
    }

    public StructType schema() {
        return table.schema();
    }

    /** Position of {@value #CORRUPT} in the rows, or -1. */
    public int corruptIndex() {
        return Arrays.asList(table.columns()).indexOf(CORRUPT);
    }

}

package dev.anneal.jobs.score;

import dev.anneal.core.InputException;
import dev.anneal.core.task.StableSplit;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.LabeledTextSource;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.lit;

/**
 * A table to score, as rows: Parquet, JSON Lines (a line that is not JSON keeps its text in
 * {@value #CORRUPT}) or a dataset directory's split (a text dataset's tokens decoded to the characters the model
 * reads; an image dataset's pixels with the label's name). Every row carries the file it came
 * from in {@value #FILE}, so a quarantined row names its file.
 *
 * @param columns the input's own columns, without the two above
 * @param leftOut images of an image dataset's split left out because the model has no output for their label
 */
public record ScoringInput(String input, Dataset<Row> table, List<String> columns, long leftOut) {
    public static final String CORRUPT = "_corrupt_record";
    public static final String FILE = "_file";
    /** The reason of a line that is not JSON. */
    public static final String NOT_JSON = "not valid JSON";

    /**
     * @param model  what it is read for: its input and label fields and, for a text dataset, the characters it
     *               reads (the rest of each record is not decoded)
     * @param labels for an image dataset, the labels to keep: the images of other labels are left out, as fine-tuning
     *               leaves them out, and counted in {@link #leftOut}; empty = keep every image
     */
    public static ScoringInput read(SparkSession spark, String input, FineTunedModel model, String split,
                                    List<String> labels) {
        return read(spark, input, model, split, labels, null);
    }

    /**
     * As {@link #read(SparkSession, String, FineTunedModel, String, List)}; a Parquet or JSON Lines table keeps only
     * the records {@code hashSplit} selects (null: every record). A row whose text is not a string is kept: it is
     * quarantined with its reason, as it would be in every split.
     */
    public static ScoringInput read(SparkSession spark, String input, FineTunedModel model, String split,
                                    List<String> labels, HashSplit hashSplit) {
        var hadoop = spark.sparkContext().hadoopConfiguration();
        String field = model.inputField();
        String labelField = model.labelField();
        Dataset<Row> df;
        long leftOut = 0;
        if (ImageRecords.isImageDataset(input, hadoop)) {
            df = images(spark, input, field, labelField, split);
            if (!labels.isEmpty()) {
                long all = df.count();
                df = df.filter(col(labelField).isNull().or(col(labelField).isin(labels.toArray())));
                leftOut = all - df.count();
            }
        } else if (DatasetFiles.isDataset(input, hadoop)) {
            StructType schema = new StructType().add(field, DataTypes.StringType)
                    .add(labelField, DataTypes.IntegerType);
            var rows = ShardedCorpus.open(spark, input).labeledText(model.maxLength()).filter(t -> t._1().equals(split))
                    .map(t -> RowFactory.create(t._2().text(), t._2().label()));
            df = spark.createDataFrame(rows, schema).withColumn(FILE, lit(input + " (" + split + ")"));
        } else {
            if (LabeledTextSource.isParquet(input, hadoop)) {
                df = spark.read().parquet(input).withColumn(FILE, input_file_name());
            } else {
                df = spark.read().option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", CORRUPT)
                        .json(input).withColumn(FILE, input_file_name());
            }
            if (hashSplit != null && Arrays.asList(df.columns()).contains(field)) {
                int at = Arrays.asList(df.columns()).indexOf(field);
                HashSplit h = hashSplit;
                df = df.filter((FilterFunction<Row>) r -> !(r.get(at) instanceof String text) || h.keeps(text));
            }
        }
        List<String> columns = Arrays.stream(df.columns()).filter(c -> !c.equals(CORRUPT) && !c.equals(FILE))
                .toList();
        if (columns.isEmpty()) {
            throw new InputException(input + ": no records with fields");
        }
        return new ScoringInput(input, df, columns, leftOut);
    }

    /**
     * The records of a table that {@code anneal finetune} puts in {@code split}: {@link StableSplit} of the text with
     * the fine-tune's fractions.
     */
    public record HashSplit(String split, double validationFraction, double testFraction)
            implements java.io.Serializable {
        public boolean keeps(String text) {
            return StableSplit.of(text, validationFraction, testFraction).name().equalsIgnoreCase(split);
        }

        /** How the selection is named in metrics.json and fingerprints. */
        public String describe() {
            return "split " + split + " by the stable hash of the text (split.validationFraction "
                    + validationFraction + ", split.testFraction " + testFraction + ")";
        }
    }

    /**
     * One split of an image dataset: {@code id}, the label by its name in the dataset's labels (the shards hold its
     * index) as {@code labelField}, and the pixels as {@code field}.
     */
    private static Dataset<Row> images(SparkSession spark, String input, String field, String labelField,
                                       String split) {
        ImageRecords dataset = ImageRecords.open(spark, input);
        Column[] names = dataset.manifest().labels().stream().map(functions::lit).toArray(Column[]::new);
        String[] paths = dataset.manifest().shards().stream().map(s -> new Path(input, s.path()).toString())
                .toArray(String[]::new);
        return spark.read().parquet(paths).filter(col("split").equalTo(split))
                .select(col("id"), functions.element_at(functions.array(names), col("label").plus(1)).as(labelField),
                        col("image").as(field))
                .withColumn(FILE, lit(input + " (" + split + ")"));
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

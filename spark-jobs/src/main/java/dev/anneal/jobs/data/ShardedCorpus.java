package dev.anneal.jobs.data;

import dev.anneal.core.InputException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.nd4j.linalg.dataset.DataSet;

import java.util.Iterator;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * An ingested text dataset as a pretraining corpus: the shards its manifest lists are read on the executors as a
 * stream of rows per partition, and the records of the train (or validation) split become windows and minibatches
 * there. Which records are validation is the dataset's split, by a hash of each record id.
 */
public final class ShardedCorpus implements PretrainCorpus {
    private final SparkSession spark;
    private final String dir;
    private final DatasetManifest manifest;
    private final CharVocabulary vocabulary;

    private ShardedCorpus(SparkSession spark, String dir, DatasetManifest manifest, CharVocabulary vocabulary) {
        this.spark = spark;
        this.dir = dir;
        this.manifest = manifest;
        this.vocabulary = vocabulary;
    }

    public static ShardedCorpus open(SparkSession spark, String dir) {
        var conf = spark.sparkContext().hadoopConfiguration();
        DatasetManifest manifest = DatasetFiles.manifest(dir, conf);
        if (manifest.kind().equals("image")) {
            throw new InputException(dir + ": an image dataset; pretraining reads text datasets");
        }
        if (manifest.shards().isEmpty()) {
            throw new InputException(dir + ": the dataset lists no shards");
        }
        return new ShardedCorpus(spark, dir, manifest, DatasetFiles.vocabulary(dir, manifest, conf));
    }

    public DatasetManifest manifest() {
        return manifest;
    }

    @Override
    public String input() {
        return dir;
    }

    /** The dataset's vocabulary: its token ids are already in it, so {@code maxSize} does not apply. */
    @Override
    public CharVocabulary vocabulary(int maxSize) {
        return vocabulary;
    }

    /** The rows of one split ({@code train}, {@code validation} or {@code test}) of every shard. */
    public Dataset<Row> rows(String split) {
        String[] paths = manifest.shards().stream().map(s -> new Path(dir, s.path()).toString())
                .toArray(String[]::new);
        return spark.read().parquet(paths).filter(col("split").equalTo(split));
    }

    /** Token ids of each record of a split, read lazily on the executors. */
    public JavaRDD<int[]> tokens(String split) {
        return rows(split).select("tokens").javaRDD().map(r -> {
            List<Integer> ids = r.getList(0);
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = ids.get(i);
            }
            return a;
        });
    }

    /**
     * The records of a labeled text dataset with their split, as text again: the first {@code maxLength} characters
     * of each, the most a classifier reads (decoded with the dataset's vocabulary, so a model with another vocabulary
     * reads them in its own ids; a character outside the dataset's vocabulary comes back as U+FFFD). Only those
     * token ids leave Parquet: the rest of a long e-mail is never copied, boxed or decoded. A binary task needs
     * exactly two declared labels: index 1 is the positive class.
     */
    public JavaRDD<scala.Tuple2<String, LabeledText>> labeledText(int maxLength) {
        if (!manifest.kind().equals("labeled-text") || manifest.labels().size() != 2) {
            throw new InputException(dir + ": a " + manifest.kind() + " dataset with labels " + manifest.labels()
                    + "; fine-tuning needs labeled text with two labels");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
        }
        CharVocabulary v = vocabulary;
        String[] paths = manifest.shards().stream().map(s -> new Path(dir, s.path()).toString())
                .toArray(String[]::new);
        // One id per character (ingest writes no padding), so the first maxLength ids are the first maxLength
        // characters.
        return spark.read().parquet(paths)
                .select(col("split"), col("label"), functions.slice(col("tokens"), 1, maxLength)).javaRDD()
                .map(r -> {
                    List<Integer> ids = r.getList(2);
                    int[] a = new int[ids.size()];
                    for (int i = 0; i < a.length; i++) {
                        a[i] = ids.get(i);
                    }
                    return new scala.Tuple2<>(r.getString(0), new LabeledText(v.decode(a), r.getInt(1)));
                });
    }

    @Override
    public JavaRDD<DataSet> minibatches(CharVocabulary trainingVocabulary, int windowLength, int batchSize,
                                        double validationFraction, boolean validation) {
        int vocabSize = trainingVocabulary.size();
        int separator = trainingVocabulary.id('\n');
        JavaRDD<int[]> tokens = tokens(validation ? "validation" : "train");
        if (!trainingVocabulary.equals(vocabulary)) {
            // A model pretrained elsewhere (pretrain's init.checkpoint) reads this dataset: its ids become the
            // model's, a character the model's vocabulary lacks becoming <unk>.
            int[] toModel = translation(vocabulary, trainingVocabulary);
            tokens = tokens.map(ids -> {
                int[] out = new int[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    out[i] = ids[i] < toModel.length ? toModel[ids[i]] : CharVocabulary.UNKNOWN;
                }
                return out;
            });
        }
        return tokens.mapPartitions((Iterator<int[]> it) ->
                new BatchIterator<>(new TokenWindows(it, separator, windowLength + 1), batchSize,
                        batch -> LanguageModelBatches.languageModelBatch(batch.toArray(int[][]::new), vocabSize)));
    }

    /** For every id of {@code from}, the id of the same character in {@code to} (padding and unknown kept). */
    static int[] translation(CharVocabulary from, CharVocabulary to) {
        int[] map = new int[from.size()];
        map[CharVocabulary.PAD] = CharVocabulary.PAD;
        map[CharVocabulary.UNKNOWN] = CharVocabulary.UNKNOWN;
        for (int id = 2; id < from.size(); id++) {
            map[id] = to.id(from.decode(new int[] {id}).codePointAt(0));
        }
        return map;
    }
}

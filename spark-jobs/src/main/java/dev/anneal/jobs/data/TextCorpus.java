package dev.anneal.jobs.data;

import dev.anneal.core.InputException;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.task.StableSplit;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A plain-text corpus (files, a directory or a glob; .txt or .gz) read by Spark, turned into next-character
 * training windows partition by partition on the executors.
 */
public final class TextCorpus implements PretrainCorpus {
    private final JavaRDD<String> lines;
    private final String input;

    private TextCorpus(JavaRDD<String> lines, String input) {
        this.lines = lines;
        this.input = input;
    }

    /**
     * Fails with exit code 3, before Spark is started, when {@code input} matches no file or only empty ones.
     *
     * @return the total bytes of the matched files
     */
    public static long checkInput(String input, Configuration hadoopConf) {
        Path path = new Path(input);
        try {
            FileSystem fs = path.getFileSystem(hadoopConf);
            FileStatus[] matched = fs.globStatus(path);
            if (matched == null || matched.length == 0) {
                throw new InputException("input not found: " + input);
            }
            long bytes = 0;
            int files = 0;
            for (FileStatus st : matched) {
                FileStatus[] inside = st.isDirectory() ? fs.listStatus(st.getPath()) : new FileStatus[] {st};
                for (FileStatus f : inside) {
                    String name = f.getPath().getName();
                    if (f.isFile() && !name.startsWith(".") && !name.startsWith("_")) {
                        bytes += f.getLen();
                        files++;
                    }
                }
            }
            if (files == 0) {
                throw new InputException("input " + input + " holds no files");
            }
            if (bytes == 0) {
                throw new InputException("input " + input + " is empty: " + files + " file(s), 0 bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw new InputException("cannot read input " + input + ": " + e.getMessage(), e);
        }
    }

    public static TextCorpus read(JavaSparkContext sc, String input, int minPartitions) {
        return new TextCorpus(sc.textFile(input, minPartitions), input);
    }

    @Override
    public String input() {
        return input;
    }

    /**
     * The corpus's vocabulary: characters are counted on the executors and only the per-character totals reach the
     * driver. Line breaks count as characters, since the windows span them.
     */
    @Override
    public CharVocabulary vocabulary(int maxSize) {
        Map<Integer, Long> counts = lines
                .mapPartitionsToPair(it -> {
                    Map<Integer, Long> local = new HashMap<>();
                    while (it.hasNext()) {
                        it.next().codePoints().forEach(cp -> local.merge(cp, 1L, Long::sum));
                        local.merge((int) '\n', 1L, Long::sum);
                    }
                    List<Tuple2<Integer, Long>> out = new ArrayList<>(local.size());
                    local.forEach((k, v) -> out.add(new Tuple2<>(k, v)));
                    return out.iterator();
                })
                .reduceByKey(Long::sum)
                .collectAsMap();
        if (counts.isEmpty()) {
            throw new InputException("input " + input + " holds no text");
        }
        return CharVocabulary.fromCounts(new HashMap<>(counts), maxSize);
    }

    /**
     * Minibatches of next-character windows of {@code windowLength + 1} ids, built on the executors from each
     * partition's lines in order. Each window goes to validation or training by a hash of its text
     * ({@link StableSplit}), so the two sets never overlap and are the same on every pass.
     */
    @Override
    public JavaRDD<DataSet> minibatches(CharVocabulary vocabulary, int windowLength, int batchSize,
                                        double validationFraction, boolean validation) {
        int vocabSize = vocabulary.size();
        return lines.mapPartitions(it -> {
            // A partition's lines, joined by line breaks, cut into windows that overlap by one id.
            Iterator<int[]> encoded = new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public int[] next() {
                    return vocabulary.encode(it.next());
                }
            };
            Iterator<int[]> windows = new TokenWindows(encoded, vocabulary.id('\n'), windowLength + 1);
            Iterator<int[]> kept = new FilteringIterator<>(windows,
                    w -> (StableSplit.of(Arrays.toString(w), validationFraction, 0) == StableSplit.VALIDATION)
                            == validation);
            return new BatchIterator<>(kept, batchSize,
                    batch -> LanguageModelBatches.languageModelBatch(batch.toArray(int[][]::new), vocabSize));
        });
    }
}

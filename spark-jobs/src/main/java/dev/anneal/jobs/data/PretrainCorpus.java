package dev.anneal.jobs.data;

import dev.anneal.core.text.CharVocabulary;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;

/** What pretraining reads: raw text files ({@link TextCorpus}) or an ingested dataset ({@link ShardedCorpus}). */
public interface PretrainCorpus {
    /** Where the corpus was read from, for logs and errors. */
    String input();

    /** The vocabulary to train with: built from the text, or the dataset's own. */
    CharVocabulary vocabulary(int maxSize);

    /**
     * Minibatches of next-character windows of {@code windowLength + 1} ids, built partition by partition on the
     * executors, of the training or the validation part.
     */
    JavaRDD<DataSet> minibatches(CharVocabulary vocabulary, int windowLength, int batchSize,
                                 double validationFraction, boolean validation);
}

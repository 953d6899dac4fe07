package dev.anneal.jobs.data;

import dev.anneal.core.net.ImageBatches;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.eval.TaskEvaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.Serializable;
import java.util.List;

/**
 * How a minibatch of task records becomes the network's input: token ids of the text for a language-model encoder,
 * scaled pixels for a CNN. Small and serializable: it travels to the executors inside the closures that batch and
 * score records.
 */
@FunctionalInterface
public interface RecordFeatures extends Serializable {
    /** Features, labels and (for text) the mask of one minibatch. */
    DataSet batch(List<TaskRecord> records);

    /** Text cut to {@code maxLength} characters, in the vocabulary's ids. */
    static RecordFeatures text(CharVocabulary vocabulary, int maxLength) {
        return records -> TaskEvaluation.batch(records, vocabulary, maxLength);
    }

    /** Images of {@code pixels} bytes each, scaled to [0, 1]. */
    static RecordFeatures images(int pixels) {
        return records -> {
            byte[][] images = new byte[records.size()][];
            float[][] targets = new float[records.size()][];
            for (int i = 0; i < images.length; i++) {
                images[i] = records.get(i).image();
                targets[i] = records.get(i).target();
            }
            return ImageBatches.of(images, targets, pixels);
        };
    }

    /**
     * Images of {@code pixels} bytes each, scaled to [0, 1], as both features and labels: what an autoencoder
     * learns to reconstruct. The records' labels are not read.
     */
    static RecordFeatures reconstruction(int pixels) {
        return records -> {
            byte[][] images = new byte[records.size()][];
            for (int i = 0; i < images.length; i++) {
                images[i] = records.get(i).image();
            }
            INDArray x = ImageBatches.features(images, pixels);
            return new DataSet(x, x.dup());
        };
    }
}

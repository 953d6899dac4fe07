package dev.anneal.jobs.score;

import org.apache.spark.sql.Row;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.Serializable;
import java.util.List;

/**
 * How the records of one input kind (text, images, ...) become a fine-tuned network's inputs. It runs on the
 * executors, so it is small and serializable; {@link InputKinds} picks one by the checkpoint's network kind, so a new
 * kind of model is one more implementation and one more case there.
 */
public interface InputKind extends Serializable {
    /** What keeps this row from being scored (missing, empty or mistyped field), or {@code null} when it can be. */
    String problem(Row row);

    /** The network's inputs and their masks for rows {@link #problem} passed. */
    Features features(List<Row> rows);

    /** A minibatch's inputs, one array per network input, and their masks (null when nothing is masked). */
    record Features(INDArray[] inputs, INDArray[] masks) {
    }
}

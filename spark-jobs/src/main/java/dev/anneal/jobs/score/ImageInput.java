package dev.anneal.jobs.score;

import dev.anneal.core.net.ImageBatches;
import org.apache.spark.sql.Row;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * Image records for an image classifier: one binary column of one byte a pixel, row-major, as an image dataset's
 * shards store them, scaled to [0, 1] as fine-tuning did ({@link ImageBatches}). A missing value, a value that is
 * not bytes, or one whose length is not the model's pixel count cannot be scored.
 */
public final class ImageInput implements InputKind {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final int index;
    private final int rows;
    private final int cols;

    /** @param index the position of {@code field} in the rows; the model reads greyscale images of rows x cols */
    public ImageInput(String field, int index, int rows, int cols) {
        this.field = field;
        this.index = index;
        this.rows = rows;
        this.cols = cols;
    }

    @Override
    public String problem(Row row) {
        Object v = row.get(index);
        if (v == null) {
            return field + " is missing";
        }
        if (!(v instanceof byte[] b)) {
            return field + " is not bytes but " + v.getClass().getSimpleName();
        }
        return b.length == rows * cols ? null : field + " has " + b.length + " bytes; the model reads " + rows + "x"
                + cols + " greyscale images of " + rows * cols;
    }

    @Override
    public Features features(List<Row> batch) {
        byte[][] images = new byte[batch.size()][];
        for (int i = 0; i < images.length; i++) {
            images[i] = (byte[]) batch.get(i).get(index);
        }
        return new Features(new INDArray[] {ImageBatches.features(images, rows * cols)}, null);
    }

    /** For the job's log line. */
    @Override
    public String toString() {
        return "image field " + field + ", " + rows + "x" + cols + " greyscale";
    }
}

package dev.anneal.jobs.eval;

import dev.anneal.jobs.data.BatchIterator;
import dev.anneal.jobs.data.RecordFeatures;
import dev.anneal.jobs.data.TaskRecord;
import dev.anneal.jobs.engine.BroadcastModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How well an autoencoder reconstructs a set of images, measured on the executors with the model broadcast once:
 * the mean binary cross-entropy per pixel between the input pixels {@code x} (in [0, 1]) and the reconstruction
 * {@code p}, {@code −[x ln p + (1 − x) ln(1 − p)]} with {@code p} clipped to [1e-5, 1 − 1e-5] as DL4J's
 * {@code LossBinaryXENT} clips it in training, and the mean squared error per pixel {@code (x − p)²}. Only a few
 * sums reach the driver.
 *
 * <p>With targets in [0, 1] rather than 0/1 the cross-entropy does not go to 0: its floor is the pixels' own
 * entropy, reached when {@code p = x}. The squared error, whose floor is 0, says how close the images are.
 */
public final class ReconstructionLoss {
    /** DL4J's {@code LossBinaryXENT} default clipping of the sigmoid output. */
    static final double CLIP = 1e-5;

    private ReconstructionLoss() {
    }

    /**
     * Per-pixel figures over {@code images} images of {@code pixels} pixels.
     *
     * @param crossEntropy binary cross-entropy per pixel, nats
     * @param squaredError squared error per pixel
     */
    public record Result(double crossEntropy, double squaredError, long images, long pixels) {
        /** From the sums {@link #measure} adds up: cross-entropy, squared error, images, pixels. */
        static Result of(double[] sums) {
            return sums[3] == 0 ? new Result(Double.NaN, Double.NaN, 0, 0)
                    : new Result(sums[0] / sums[3], sums[1] / sums[3], (long) sums[2], (long) sums[3]);
        }

        /** As metrics.json records it: {@code loss} is the cross-entropy, the quantity training minimises. */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("loss", images == 0 ? Double.NaN : crossEntropy);
            m.put("mse", images == 0 ? Double.NaN : squaredError);
            m.put("count", images);
            return m;
        }
    }

    /** The network's reconstructions of {@code records}, batched by {@code features}. */
    public static Result of(JavaSparkContext sc, ComputationGraph graph, JavaRDD<TaskRecord> records,
                            RecordFeatures features, int batchSize) {
        BroadcastModel model = BroadcastModel.of(sc, graph);
        try {
            // Plain sums travel back: Spark's Kryo cannot write a record's final fields.
            return Result.of(records.mapPartitions((Iterator<TaskRecord> it) -> {
                double[] sums = new double[4];
                if (!it.hasNext()) {
                    return List.of(sums).iterator();
                }
                ComputationGraph net = model.load();
                Iterator<List<TaskRecord>> batches = new BatchIterator<>(it, batchSize, b -> b);
                while (batches.hasNext()) {
                    DataSet ds = features.batch(batches.next());
                    measure(ds.getFeatures(), net.output(false, ds.getFeatures())[0], sums);
                }
                return List.of(sums).iterator();
            }).fold(new double[4], ReconstructionLoss::add));
        } finally {
            model.destroy();
        }
    }

    /**
     * The figures of one constant reconstruction for every image, {@code image} (e.g. the mean training image): the
     * baseline an autoencoder's figures are read against.
     */
    public static Result constant(JavaRDD<TaskRecord> records, RecordFeatures features, float[] image,
                                  int batchSize) {
        return Result.of(records.mapPartitions((Iterator<TaskRecord> it) -> {
            double[] sums = new double[4];
            Iterator<List<TaskRecord>> batches = new BatchIterator<>(it, batchSize, b -> b);
            while (batches.hasNext()) {
                INDArray x = features.batch(batches.next()).getFeatures();
                INDArray p = Nd4j.create(image, new long[] {1, image.length}, 'c').castTo(x.dataType())
                        .repeat(0, x.rows());
                measure(x, p, sums);
            }
            return List.of(sums).iterator();
        }).fold(new double[4], ReconstructionLoss::add));
    }

    /** The mean of the images' features, pixel by pixel. */
    public static float[] meanImage(JavaRDD<TaskRecord> records, RecordFeatures features, int batchSize) {
        double[] sums = records.mapPartitions((Iterator<TaskRecord> it) -> {
            double[] s = null;
            Iterator<List<TaskRecord>> batches = new BatchIterator<>(it, batchSize, b -> b);
            while (batches.hasNext()) {
                INDArray x = features.batch(batches.next()).getFeatures().castTo(DataType.DOUBLE);
                double[] column = x.sum(0).toDoubleVector();
                if (s == null) {
                    s = new double[column.length + 1];
                }
                for (int i = 0; i < column.length; i++) {
                    s[i] += column[i];
                }
                s[column.length] += x.rows();
            }
            return s == null ? List.<double[]>of().iterator() : List.of(s).iterator();
        }).reduce(ReconstructionLoss::add);
        float[] mean = new float[sums.length - 1];
        for (int i = 0; i < mean.length; i++) {
            mean[i] = (float) (sums[i] / sums[mean.length]);
        }
        return mean;
    }

    private static double[] add(double[] a, double[] b) {
        double[] s = a.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] += b[i];
        }
        return s;
    }

    /**
     * Adds to {@code sums} the cross-entropy and squared error summed over the pixels of reconstructions {@code p} of
     * images {@code x} (both {@code [batch, pixels]}), and the images and pixels counted.
     */
    static void measure(INDArray x, INDArray p, double[] sums) {
        INDArray t = x.castTo(DataType.DOUBLE);
        INDArray q = p.castTo(DataType.DOUBLE);
        INDArray clipped = Transforms.min(Transforms.max(q, CLIP, true), 1 - CLIP, false);
        double crossEntropy = -t.mul(Transforms.log(clipped, true))
                .addi(t.rsub(1.0).muli(Transforms.log(clipped.rsub(1.0), false))).sumNumber().doubleValue();
        sums[0] += crossEntropy;
        sums[1] += t.squaredDistance(q);
        sums[2] += t.rows();
        sums[3] += t.length();
    }
}

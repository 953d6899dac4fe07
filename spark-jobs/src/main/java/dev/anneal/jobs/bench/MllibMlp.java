package dev.anneal.jobs.bench;

import org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel;
import org.apache.spark.ml.classification.MultilayerPerceptronClassifier;
import org.apache.spark.ml.evaluation.MulticlassClassificationEvaluator;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Spark MLlib's own neural network, {@code MultilayerPerceptronClassifier} (L-BFGS, float64), on Fashion-MNIST: the
 * baseline a Spark user has without Anneal. Fits on the first {@code SAMPLES} training images in {@code local[2]},
 * times the fit, and prints one {@code RESULT {json}} line with the test accuracy on the 10,000 test images.
 *
 * <p>Usage: {@code MllibMlp FASHION_MNIST_DIR HIDDEN MAX_ITERATIONS SAMPLES}.
 */
public final class MllibMlp {
    private MllibMlp() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int hidden = Integer.parseInt(args[1]);
        int iterations = Integer.parseInt(args[2]);
        int samples = Integer.parseInt(args[3]);
        SparkSession spark = SparkSession.builder().master("local[2]").appName("mllib-mlp")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        Dataset<Row> train = frame(spark, dir, "train").limit(samples).cache();
        Dataset<Row> test = frame(spark, dir, "t10k").cache();
        train.count();
        test.count();
        MultilayerPerceptronClassifier mlp = new MultilayerPerceptronClassifier()
                .setLayers(new int[] {784, hidden, 10}).setMaxIter(iterations).setBlockSize(128).setSeed(42);
        long t0 = System.nanoTime();
        MultilayerPerceptronClassificationModel model = mlp.fit(train);
        double seconds = (System.nanoTime() - t0) / 1e9;
        double accuracy = new MulticlassClassificationEvaluator().setMetricName("accuracy")
                .evaluate(model.transform(test));
        System.out.printf(Locale.ROOT, "RESULT {\"model\":\"mlp\",\"mode\":\"mllib\",\"threads\":\"local[2]\","
                        + "\"layers\":\"784-%d-10\",\"maxIterations\":%d,\"samples\":%d,\"trainSeconds\":%.3f,"
                        + "\"testAccuracy\":[%.4f]}%n", hidden, iterations, train.count(), seconds, accuracy);
        spark.stop();
    }

    private static Dataset<Row> frame(SparkSession spark, Path dir, String prefix) throws IOException {
        List<DataSet> batches = EngineBenchmark.minibatches(dir.resolve(prefix + "-images-idx3-ubyte.gz"),
                dir.resolve(prefix + "-labels-idx1-ubyte.gz"), 10_000);
        List<Row> rows = new ArrayList<>();
        for (DataSet ds : batches) {
            INDArray x = ds.getFeatures();
            INDArray y = ds.getLabels().argMax(1);
            for (int i = 0; i < x.rows(); i++) {
                rows.add(RowFactory.create(y.getDouble(i), Vectors.dense(x.getRow(i).toDoubleVector())));
            }
        }
        StructType schema = new StructType().add("label", DataTypes.DoubleType).add("features", SQLDataTypes.VectorType());
        return spark.createDataFrame(rows, schema);
    }
}

package dev.anneal.jobs.bench;

import dev.anneal.core.config.GradientSharingSettings;
import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.ChainTrainer;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * One engine against single-JVM DL4J on the same model and data: an MLP 784-256-10 on Fashion-MNIST (Adam 1e-3,
 * batch 128 per worker). Trains epoch by epoch, measures test accuracy after each on the driver, and prints one
 * line of JSON: samples/s of the training passes, the training time until test accuracy first reached the target,
 * and the engine's bytes per iteration.
 *
 * <p>{@code single} trains with DL4J's own {@code fit}, {@code single-anneal} with {@link ChainTrainer} (as local
 * SGD's workers do).
 *
 * <p>Usage: {@code EngineBenchmark single|single-anneal|parameter-averaging|gradient-sharing|local-sgd|local-sgd-sparse FASHION_MNIST_DIR
 * EPOCHS TARGET [WORKERS] [AVERAGING_FREQUENCY] [THRESHOLD] [DENSITY]} ({@code local-sgd-sparse}: local-sgd with
 * {@code training.localSgd.density} DENSITY, default 0.02, averaging every 20 unless given); the master comes from spark-submit, or is {@code local[WORKERS]}.
 */
public final class EngineBenchmark {
    private static final int BATCH = 128;
    private static final double LEARNING_RATE = 1e-3;
    private static final MlpSpec MODEL = new MlpSpec(784, List.of(256), 10, Loss.SOFTMAX_CROSS_ENTROPY);

    private EngineBenchmark() {
    }

    public static void main(String[] args) {
        BenchMain.exitAfter(EngineBenchmark::run, args);
    }

    private static void run(String[] args) throws IOException {
        String mode = args[0];
        Path dir = Path.of(args[1]);
        int epochs = Integer.parseInt(args[2]);
        double target = Double.parseDouble(args[3]);
        int workers = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        // local-sgd-sparse: local-sgd with training.localSgd.density DENSITY, by default every 20 at 0.02.
        boolean sparse = mode.equals("local-sgd-sparse");
        int frequency = args.length > 5 ? Integer.parseInt(args[5]) : sparse ? 20 : 5;
        double threshold = args.length > 6 ? Double.parseDouble(args[6]) : 1e-3;
        double density = sparse ? (args.length > 7 ? Double.parseDouble(args[7]) : 0.02) : 1;

        List<DataSet> train = minibatches(dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"), BATCH);
        DataSet test = DataSet.merge(minibatches(dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"), 10_000));
        long samples = train.stream().mapToLong(DataSet::numExamples).sum();
        ComputationGraph graph = MODEL.build(42, new Adam(LEARNING_RATE), DataType.FLOAT);

        List<Double> rates = new ArrayList<>();
        List<Double> accuracies = new ArrayList<>();
        List<Double> bytesPerIteration = new ArrayList<>();
        double trainSeconds = 0;
        double toTarget = Double.NaN;
        String master = "none";
        SparkSession spark = null;
        boolean single = mode.equals("single") || mode.equals("single-anneal");
        if (single) {
            ChainTrainer dense = mode.equals("single-anneal") ? ChainTrainer.forNetwork(graph) : null;
            if (mode.equals("single-anneal") && dense == null) {
                throw new IllegalStateException("Anneal's trainer does not take this network: "
                        + ChainTrainer.unsupportedReason(graph));
            }
            for (int e = 0; e < epochs; e++) {
                long t0 = System.nanoTime();
                for (DataSet ds : train) {
                    ChainTrainer.fit(dense, graph, ds);
                }
                double s = (System.nanoTime() - t0) / 1e9;
                trainSeconds += s;
                rates.add(samples / s);
                accuracies.add(accuracy(graph, test));
                if (Double.isNaN(toTarget) && accuracies.get(e) >= target) {
                    toTarget = trainSeconds;
                }
            }
        } else {
            spark = SparkSetup.session("bench", System.getProperty("spark.master") == null
                    ? "local[" + workers + "]" : "");
            JavaSparkContext sc = SparkSetup.context(spark);
            master = sc.master();
            TrainingSettings training = TrainingSettings.parameterAveraging(epochs, BATCH, LEARNING_RATE, frequency,
                    workers, 2).with(sparse ? TrainingSettings.LOCAL_SGD : mode, GradientSharingSettings.loopback()
                    .withThreshold(GradientSharingSettings.ADAPTIVE, threshold)) // loopback: local mode, loopback cluster
                    .withLocalSgdDensity(density);
            JavaRDD<DataSet> data = sc.parallelize(train, workers).persist(StorageLevel.MEMORY_ONLY());
            data.count();
            long minibatches = train.size();
            try (TrainingEngine engine = TrainingEngines.create(sc, graph, training, 42)) {
                for (int e = 0; e < epochs; e++) {
                    long t0 = System.nanoTime();
                    graph = engine.fitEpoch(data);
                    double s = (System.nanoTime() - t0) / 1e9;
                    trainSeconds += s;
                    rates.add(samples / s);
                    Traffic traffic = engine.lastTraffic();
                    bytesPerIteration.add(traffic.modelBytes() / (double) ((minibatches + workers - 1) / workers));
                    accuracies.add(accuracy(graph, test));
                    if (Double.isNaN(toTarget) && accuracies.get(e) >= target) {
                        toTarget = trainSeconds;
                    }
                }
            }
        }
        System.out.printf("RESULT {\"mode\":\"%s\",\"threads\":\"%s\",\"master\":\"%s\",\"workers\":%d,\"averagingFrequency\":%d,"
                        + "\"threshold\":%s,\"epochs\":%d,\"samplesPerSecond\":%s,\"testAccuracy\":%s,\"target\":%s,"
                        + "\"secondsToTarget\":%s,\"bytesPerIteration\":%s}%n", mode,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), master,
                single ? 1 : workers, frequency, threshold, epochs, rates, accuracies, target,
                Double.isNaN(toTarget) ? "null" : String.format("%.2f", toTarget), bytesPerIteration);
        if (spark != null) {
            spark.stop();
        }
    }

    private static double accuracy(ComputationGraph graph, DataSet test) {
        Evaluation eval = graph.evaluate(new org.nd4j.linalg.dataset.adapter.SingletonDataSetIterator(test));
        return eval.accuracy();
    }

    /** IDX images and labels (gzip) as minibatches: pixels scaled to [0, 1], one-hot labels. */
    static List<DataSet> minibatches(Path images, Path labels, int batch) throws IOException {
        float[][] pixels;
        int[] classes;
        try (DataInputStream in = open(images)) {
            check(in.readInt(), 0x803, images);
            int n = in.readInt();
            int size = in.readInt() * in.readInt();
            pixels = new float[n][size];
            byte[] row = new byte[size];
            for (int i = 0; i < n; i++) {
                in.readFully(row);
                for (int j = 0; j < size; j++) {
                    pixels[i][j] = (row[j] & 0xff) / 255f;
                }
            }
        }
        try (DataInputStream in = open(labels)) {
            check(in.readInt(), 0x801, labels);
            int n = in.readInt();
            if (n != pixels.length) {
                throw new IOException(labels + " has " + n + " labels for " + pixels.length + " images in " + images);
            }
            classes = new int[n];
            for (int i = 0; i < n; i++) {
                classes[i] = in.readUnsignedByte();
            }
        }
        List<DataSet> out = new ArrayList<>();
        for (int start = 0; start < pixels.length; start += batch) {
            int m = Math.min(batch, pixels.length - start);
            float[][] x = new float[m][];
            INDArray y = Nd4j.zeros(DataType.FLOAT, m, 10);
            for (int i = 0; i < m; i++) {
                x[i] = pixels[start + i];
                y.putScalar(i, classes[start + i], 1f);
            }
            out.add(new DataSet(Nd4j.create(x), y));
        }
        return out;
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(raw), 1 << 16));
    }

    private static void check(int magic, int expected, Path file) throws IOException {
        if (magic != expected) {
            throw new IOException(file + ": IDX magic number " + Integer.toHexString(magic) + ", expected "
                    + Integer.toHexString(expected));
        }
    }
}

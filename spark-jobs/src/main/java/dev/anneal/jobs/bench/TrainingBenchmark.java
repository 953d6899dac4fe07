package dev.anneal.jobs.bench;

import dev.anneal.core.config.GradientSharingSettings;
import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.ChainTrainer;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import dev.anneal.core.net.NetworkSpec;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.adapter.SingletonDataSetIterator;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training throughput and time to a target test accuracy of one of {@code scripts/bench}'s Fashion-MNIST models
 * (Adam 1e-3, batch 128 per worker), in one configuration: plain DL4J in this JVM or one of Anneal's engines in
 * Spark. Trains on the first {@code SAMPLES} training images for {@code EPOCHS} timed passes, after untimed warm-up
 * passes on a copy of the network until the JIT has gone quiet: three passes in a row in which it compiled for at
 * most 2 % of the pass (at least {@code -Danneal.bench.warmUpPasses=N}, by default 1; at most
 * {@code -Danneal.bench.maxWarmUpPasses=N}, by default 40, or 15 s); measures test accuracy on
 * the 10,000 test images after each pass (not timed), and prints one {@code RESULT {json}} line.
 *
 * <p>{@code single} trains with DL4J's own {@code fit}; {@code single-anneal} with {@link ChainTrainer} (both
 * models qualify), as Anneal's local SGD workers train.
 *
 * <p>Usage: {@code TrainingBenchmark mlp|cnn single|single-anneal|parameter-averaging|gradient-sharing|local-sgd|local-sgd-aggregate|local-sgd-sparse
 * FASHION_MNIST_DIR EPOCHS SAMPLES TARGET [WORKERS] [AVERAGING_FREQUENCY] [DENSITY]}; {@code local-sgd-sparse} is
 * local-sgd with {@code training.localSgd.density} DENSITY (default 0.02); the master comes from spark-submit, or is
 * {@code local[WORKERS]}.
 */
public final class TrainingBenchmark {
    static final int BATCH = 128;
    private static final double LEARNING_RATE = 1e-3;
    /** At least this many warm-up passes. */
    private static final int WARM_UP_PASSES = Integer.getInteger("anneal.bench.warmUpPasses", 1);
    /** Warm-up ends after this many passes in a row in which the JIT compiled for at most {@link #QUIET_SHARE}. */
    private static final int QUIET_PASSES = 3;
    private static final double QUIET_SHARE = 0.02;
    /** Warm-up ends after this many passes or seconds even if the JIT is still busy (the result says so). */
    private static final int MAX_WARM_UP_PASSES = Integer.getInteger("anneal.bench.maxWarmUpPasses", 40);
    private static final double MAX_WARM_UP_SECONDS = 15;

    private TrainingBenchmark() {
    }

    /** The benchmark's models: the MLP 784-512-256-10 and small CNN. */
    static NetworkSpec model(String name) {
        return switch (name) {
            case "mlp" -> new MlpSpec(784, List.of(512, 256), 10, Loss.SOFTMAX_CROSS_ENTROPY);
            case "cnn" -> new CnnSpec(28, 28, 1, List.of(32, 64), 5, 256, 10, Loss.SOFTMAX_CROSS_ENTROPY);
            default -> throw new IllegalArgumentException("unknown model " + name + " (mlp or cnn)");
        };
    }

    public static void main(String[] args) {
        BenchMain.exitAfter(TrainingBenchmark::run, args);
    }

    private static void run(String[] args) throws IOException {
        String modelName = args[0];
        String mode = args[1];
        Path dir = Path.of(args[2]);
        int epochs = Integer.parseInt(args[3]);
        int samples = Integer.parseInt(args[4]);
        double target = Double.parseDouble(args[5]);
        int workers = args.length > 6 ? Integer.parseInt(args[6]) : 2;
        int frequency = args.length > 7 ? Integer.parseInt(args[7]) : 5;
        double density = mode.equals("local-sgd-sparse") ? (args.length > 8 ? Double.parseDouble(args[8]) : 0.02) : 1;

        List<DataSet> all = EngineBenchmark.minibatches(dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"), BATCH);
        List<DataSet> train = new ArrayList<>(all.subList(0, Math.min(all.size(), (samples + BATCH - 1) / BATCH)));
        DataSet test = DataSet.merge(EngineBenchmark.minibatches(dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"), 10_000));
        long trained = train.stream().mapToLong(DataSet::numExamples).sum();
        ComputationGraph graph = model(modelName).build(42, new Adam(LEARNING_RATE), DataType.FLOAT);

        List<Double> rates = new ArrayList<>();
        List<Double> accuracies = new ArrayList<>();
        List<Double> bytesPerIteration = new ArrayList<>();
        double trainSeconds = 0;
        double toTarget = Double.NaN;
        String master = "none";
        SparkSession spark = null;
        TrainingEngine engine = null;
        JavaRDD<DataSet> data = null;
        JavaSparkContext sc = null;
        TrainingSettings training = null;
        boolean singleJvm = mode.equals("single") || mode.equals("single-anneal");
        ChainTrainer dense = mode.equals("single-anneal") ? ChainTrainer.forNetwork(graph) : null;
        if (mode.equals("single-anneal")) {
            System.err.println("Anneal's trainer: " + (dense != null ? "used"
                    : "not used, " + ChainTrainer.unsupportedReason(graph)));
        }
        if (!singleJvm) {
            spark = SparkSetup.session("bench", System.getProperty("spark.master") == null
                    ? "local[" + workers + "]" : "");
            sc = SparkSetup.context(spark);
            master = sc.master();
            // local-sgd-aggregate: the local-sgd engine with one Spark job per round instead of its default.
            // local-sgd-sparse: the local-sgd engine with training.localSgd.density below 1.
            boolean aggregate = mode.equals("local-sgd-aggregate");
            String engineName = aggregate || mode.equals("local-sgd-sparse") ? TrainingSettings.LOCAL_SGD : mode;
            training = TrainingSettings.parameterAveraging(epochs, BATCH, LEARNING_RATE, frequency,
                    workers, 2).with(engineName, GradientSharingSettings.loopback()
                    .withThreshold(GradientSharingSettings.ADAPTIVE, 1e-3))
                    .withLocalSgdExchange(aggregate ? TrainingSettings.EXCHANGE_AGGREGATE
                            : TrainingSettings.EXCHANGE_AUTO)
                    .withLocalSgdDensity(density);
            data = sc.parallelize(train, workers).persist(StorageLevel.MEMORY_ONLY());
            data.count();
            engine = TrainingEngines.create(sc, graph, training, 42);
        }
        long iterations = (train.size() + workers - 1) / workers;
        // Untimed passes on a copy of the network, each followed by an evaluation as the timed passes are, until the
        // JIT has gone quiet. On two cores every compilation takes a core from the training it would be measured
        // against, and with two native threads a step waits for its slower thread: a benchmark MLP's passes ran at
        // 28-97k samples/s through the first 20 passes as C2 compiled and recompiled ND4J's op paths, steadily after.
        // The timed passes then measure steady-state training, as scripts/bench-torch.py (which has no JIT) does. The
        // copy's engine is its own.
        long w0 = System.nanoTime();
        ComputationGraph warm = graph.clone();
        ChainTrainer warmDense = engine == null && dense != null ? ChainTrainer.forNetwork(warm) : null;
        TrainingEngine warmEngine = engine == null ? null : TrainingEngines.create(sc, warm, training, 42);
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        int warmUpPasses = 0;
        double firstPassSeconds = 0;
        int quietInARow = 0;
        while (warmUpPasses < MAX_WARM_UP_PASSES && (System.nanoTime() - w0) / 1e9 < MAX_WARM_UP_SECONDS
                && (warmUpPasses < WARM_UP_PASSES || quietInARow < QUIET_PASSES)) {
            long compiling = jit.getTotalCompilationTime();
            long p0 = System.nanoTime();
            if (warmEngine == null) {
                pass(warmDense, warm, train);
            } else {
                warm = warmEngine.fitEpoch(data);
            }
            warm.evaluate(new SingletonDataSetIterator(test));
            double ms = (System.nanoTime() - p0) / 1e6;
            long compiled = jit.getTotalCompilationTime() - compiling;
            quietInARow = compiled <= QUIET_SHARE * ms ? quietInARow + 1 : 0;
            if (warmUpPasses++ == 0) {
                firstPassSeconds = ms / 1e3;
            }
            System.err.printf(Locale.ROOT, "warm-up pass %d: %.0f ms with its evaluation, of which the JIT "
                    + "compiled for %d ms%n", warmUpPasses, ms, compiled);
        }
        if (warmEngine != null) {
            warmEngine.close();
        }
        boolean jitQuiet = quietInARow >= QUIET_PASSES;
        double warmUpSeconds = (System.nanoTime() - w0) / 1e9;
        for (int e = 0; e < epochs; e++) {
            long compiling = jit.getTotalCompilationTime();
            long collecting = collectionMillis();
            long t0 = System.nanoTime();
            if (engine == null) {
                pass(dense, graph, train);
            } else {
                graph = engine.fitEpoch(data);
                bytesPerIteration.add(engine.lastTraffic().modelBytes() / (double) iterations);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            long compiled = jit.getTotalCompilationTime() - compiling;
            long collected = collectionMillis() - collecting;
            trainSeconds += s;
            rates.add(trained / s);
            Evaluation eval = graph.evaluate(new SingletonDataSetIterator(test));
            accuracies.add(eval.accuracy());
            if (Double.isNaN(toTarget) && eval.accuracy() >= target) {
                toTarget = trainSeconds;
            }
            System.err.printf(Locale.ROOT, "epoch %d: %.0f samples/s, test accuracy %.4f (during the pass the JIT "
                    + "compiled for %d ms, GC took %d ms)%n", e + 1, trained / s, eval.accuracy(), compiled, collected);
        }
        if (engine != null) {
            engine.close();
        }
        System.out.printf(Locale.ROOT, "RESULT {\"model\":\"%s\",\"mode\":\"%s\",\"threads\":\"%s\",\"master\":\"%s\","
                        + "\"workers\":%d,\"averagingFrequency\":%d,\"density\":%s,\"epochs\":%d,\"samples\":%d,\"parameters\":%d,"
                        + "\"samplesPerSecond\":%s,\"testAccuracy\":%s,\"target\":%s,\"secondsToTarget\":%s,"
                        + "\"trainSeconds\":%.3f,\"warmUpSeconds\":%.3f,\"warmUpPasses\":%d,\"jitQuiet\":%s,"
                        + "\"firstPassSeconds\":%.3f,"
                        + "\"bytesPerIteration\":%s}%n", modelName, mode,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), master,
                singleJvm ? 1 : workers, frequency, density, epochs, trained, graph.numParams(), rates, accuracies,
                target, Double.isNaN(toTarget) ? "null" : String.format(Locale.ROOT, "%.3f", toTarget), trainSeconds,
                warmUpSeconds, warmUpPasses, jitQuiet, firstPassSeconds, bytesPerIteration);
        if (spark != null) {
            spark.stop();
        }
    }

    /** Milliseconds the JVM's collectors have spent collecting, summed over them. */
    private static long collectionMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum();
    }

    /** One pass over {@code train} in a single JVM: through {@code dense} where it is not null, else DL4J's fit. */
    private static void pass(ChainTrainer dense, ComputationGraph network, List<DataSet> train) {
        try (ChainTrainer.Pass pass = dense != null ? dense.pass() : null) {
            for (DataSet ds : train) {
                ChainTrainer.fit(dense, network, ds);
            }
        }
    }
}

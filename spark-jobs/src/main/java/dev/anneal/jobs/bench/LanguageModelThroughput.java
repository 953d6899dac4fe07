package dev.anneal.jobs.bench;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.data.TextCorpus;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Pretraining throughput, side by side in one run on the same minibatches: single-JVM DL4J (all cores to ND4J) and
 * Anneal's parameter-averaging engine in Spark local mode (one ND4J thread per task). Prints windows/s per run, the
 * medians and their ratio. Usage: {@code scripts/bench-pretrain [corpus] [windows] [runs]}.
 */
public final class LanguageModelThroughput {
    private LanguageModelThroughput() {
    }

    public static void main(String[] args) {
        String corpusPath = args.length > 0 ? args[0] : "data-samples/text";
        int windows = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int windowLength = 64;
        int batch = 32;
        int cores = Runtime.getRuntime().availableProcessors();

        SparkSession spark = SparkSetup.session("bench", "local[" + cores + "]");
        JavaSparkContext sc = SparkSetup.context(spark);
        TextCorpus corpus = TextCorpus.read(sc, corpusPath, cores);
        CharVocabulary vocabulary = corpus.vocabulary(160);
        List<DataSet> minibatches = new ArrayList<>(corpus.minibatches(vocabulary, windowLength, batch, 0, false)
                .take(windows / batch));
        int total = minibatches.stream().mapToInt(DataSet::numExamples).sum();
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocabulary.size(), 32, 128, 1);
        TrainingSettings training = new TrainingSettings(TrainingSettings.PARAMETER_AVERAGING, 1, batch, 0.005, 5,
                cores, 2);
        System.out.printf("corpus %s: %d windows of %d characters in %d minibatches of %d; LSTM 1x128, "
                + "embedding 32; %d cores%n", corpusPath, total, windowLength + 1, minibatches.size(), batch, cores);

        double[] single = new double[runs];
        double[] averaging = new double[runs];
        // Run 0 warms up the JIT, ND4J's native code and Spark; it is printed but not counted.
        for (int r = -1; r < runs; r++) {
            double[] measured = measure(spec, training, sc, minibatches, total, cores);
            System.out.printf("%s: single JVM %.0f windows/s, parameter averaging local[%d] %.0f windows/s%n",
                    r < 0 ? "warm-up" : "run " + (r + 1), measured[0], cores, measured[1]);
            if (r >= 0) {
                single[r] = measured[0];
                averaging[r] = measured[1];
            }
        }
        double s = median(single);
        double a = median(averaging);
        System.out.printf("median of %d: single JVM %.0f windows/s, parameter averaging local[%d] %.0f windows/s, "
                + "ratio %.2f%n", runs, s, cores, a, a / s);
        spark.stop();
    }

    /** One timed pass of each: {single-JVM windows/s, parameter-averaging windows/s}. */
    private static double[] measure(LstmLanguageModelSpec spec, TrainingSettings training, JavaSparkContext sc,
                                    List<DataSet> minibatches, int total, int cores) {
        // The two alternate within a run, so drift in the machine's speed hits both alike.
        double[] out = new double[2];
        Nd4j.getEnvironment().setMaxMasterThreads(cores);
        Nd4j.getEnvironment().setMaxThreads(cores);
        ComputationGraph graph = spec.build(42, new Adam(0.005), DataType.FLOAT);
        long t0 = System.nanoTime();
        for (DataSet ds : minibatches) {
            graph.fit(ds);
        }
        out[0] = total / ((System.nanoTime() - t0) / 1e9);

        // Spark runs one task per core: one ND4J thread each, as bin/anneal sets for local mode.
        Nd4j.getEnvironment().setMaxMasterThreads(1);
        Nd4j.getEnvironment().setMaxThreads(1);
        graph = spec.build(42, new Adam(0.005), DataType.FLOAT);
        try (TrainingEngine engine = TrainingEngines.create(sc, graph, training, 42)) {
            long t1 = System.nanoTime();
            engine.fitEpoch(sc.parallelize(minibatches, cores));
            out[1] = total / ((System.nanoTime() - t1) / 1e9);
        }
        return out;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}

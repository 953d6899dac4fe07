package dev.anneal.jobs.bench;

import dev.anneal.core.config.GradientSharingSettings;
import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.data.TextCorpus;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Pretraining throughput of the demo's language model on the first minibatches of a corpus: {@code single} fits them
 * in this JVM with plain DL4J, {@code averaging} (or an engine's name, e.g. {@code local-sgd}) with one of Anneal's
 * engines in Spark local mode. Prints a summary line and a {@code RESULT {json}} line for {@code scripts/bench}. ND4J's native thread count comes from {@code OMP_NUM_THREADS}, which only a new process can
 * change, so {@code scripts/bench-pretrain} runs each mode in its own JVM and alternates them.
 *
 * <p>One network (and, for an engine, one engine over one cached RDD of the minibatches) trains for a warm-up pass and
 * then {@code runs} timed passes, as a pretraining job does pass after pass; the engine's one-time set-up is not
 * timed. Usage: {@code LanguageModelThroughput single|averaging|ENGINE corpus windows runs [AVERAGING_FREQUENCY]}
 * (default 5).
 */
public final class LanguageModelThroughput {
    private LanguageModelThroughput() {
    }

    public static void main(String[] args) {
        BenchMain.exitAfter(LanguageModelThroughput::run, args);
    }

    private static void run(String[] args) {
        String mode = args[0];
        String corpusPath = args[1];
        int windows = Integer.parseInt(args[2]);
        int runs = Integer.parseInt(args[3]);
        int frequency = args.length > 4 ? Integer.parseInt(args[4]) : 5;
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
        // "single" trains without an engine; the settings are then unused but must still name a valid one.
        String engineName = mode.equals("averaging") || mode.equals("single")
                ? TrainingSettings.PARAMETER_AVERAGING : mode;
        TrainingSettings training = TrainingSettings.parameterAveraging(1, batch, 0.005, frequency,
                cores, 2).with(engineName, GradientSharingSettings.loopback());

        double[] rates = new double[runs];
        ComputationGraph graph = spec.build(42, new Adam(0.005), DataType.FLOAT);
        TrainingEngine engine = null;
        JavaRDD<DataSet> data = null;
        if (!mode.equals("single")) {
            data = sc.parallelize(minibatches, cores).persist(StorageLevel.MEMORY_ONLY());
            data.count();
            engine = TrainingEngines.create(sc, graph, training, 42);
        }
        // The first pass warms up the JIT, ND4J's native code and Spark; it is not counted.
        for (int r = -1; r < runs; r++) {
            long t0 = System.nanoTime();
            if (engine == null) {
                for (DataSet ds : minibatches) {
                    graph.fit(ds);
                }
            } else {
                graph = engine.fitEpoch(data);
            }
            double rate = total / ((System.nanoTime() - t0) / 1e9);
            if (r >= 0) {
                rates[r] = rate;
            }
        }
        if (engine != null) {
            engine.close();
        }
        Arrays.sort(rates);
        System.out.printf("%s OMP_NUM_THREADS=%s: %d windows of %d characters, LSTM 1x128; windows/s %s, median %.0f%n",
                mode.equals("single") ? "single JVM" : engineName + " local[" + cores + "]",
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), total, windowLength + 1,
                Arrays.toString(Arrays.stream(rates).map(Math::rint).toArray()), rates[runs / 2]);
        System.out.printf(Locale.ROOT, "RESULT {\"model\":\"lstm-lm\",\"mode\":\"%s\",\"threads\":\"%s\",\"workers\":%d,"
                        + "\"averagingFrequency\":%d,\"vocab\":%d,\"windows\":%d,\"parameters\":%d,\"windowsPerSecond\":%s}%n",
                mode.equals("single") ? "single" : engineName, System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"),
                mode.equals("single") ? 1 : cores, frequency, vocabulary.size(), total, graph.numParams(),
                Arrays.toString(rates));
        spark.stop();
    }
}

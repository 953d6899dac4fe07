package dev.anneal.jobs.bench;

import dev.anneal.core.config.TrainingSettings;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Pretraining from an ingested dataset two ways, on the same data in one JVM: Direct (minibatches built from the
 * Parquet rows on the fly each epoch, what {@code pretrain} does) and Export (the minibatches saved once as
 * {@code DataSet} files, then DL4J's {@code fitPaths} each epoch). Prints seconds per epoch of each, the export's
 * one-off cost, and windows per second.
 *
 * <p>{@code ExportVsDirect DATASET WORKDIR [epochs] [rounds]}; runs alternate direct, export, direct, export, ...
 */
public final class ExportVsDirect {
    private ExportVsDirect() {
    }

    public static void main(String[] args) throws Exception {
        String dataset = args[0];
        String work = args[1];
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int window = 64;
        int batch = 32;
        SparkSession spark = SparkSetup.session("bench export-vs-direct", "local[2]");
        JavaSparkContext sc = SparkSetup.context(spark);
        ShardedCorpus corpus = ShardedCorpus.open(spark, dataset);
        CharVocabulary vocabulary = corpus.vocabulary(0);
        JavaRDD<DataSet> minibatches = corpus.minibatches(vocabulary, window, batch, 0, false);
        long windows = minibatches.map(d -> (long) d.numExamples()).fold(0L, Long::sum);
        System.out.printf("dataset %s: %d training windows of %d, minibatches of %d%n", dataset, windows, window + 1,
                batch);

        long t0 = System.nanoTime();
        Path dir = new Path(work, "exported");
        SerializableConfiguration conf = new SerializableConfiguration(sc.hadoopConfiguration());
        FileSystem.get(dir.toUri(), sc.hadoopConfiguration()).delete(dir, true);
        String base = dir.toString();
        List<String> written = minibatches.mapPartitionsWithIndex((part, it) -> {
            List<String> paths = new ArrayList<>();
            FileSystem fs = new Path(base).getFileSystem(conf.value());
            for (int i = 0; it.hasNext(); i++) {
                Path p = new Path(base, "dataset_" + part + "_" + i + ".bin");
                try (OutputStream out = fs.create(p)) {
                    it.next().save(out);
                }
                paths.add(p.toString());
            }
            return paths.iterator();
        }, false).collect();
        double exportSeconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("export: %d DataSet files written in %.1f s (once)%n", written.size(), exportSeconds);
        JavaRDD<String> paths = sc.parallelize(written, sc.defaultParallelism());

        TrainingSettings training = TrainingSettings.parameterAveraging(epochs, batch, 0.005, 5, 0, 0);
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocabulary.size(), 32, 128, 1);
        for (int round = 1; round <= rounds; round++) {
            for (String approach : List.of("direct", "export")) {
                ComputationGraph graph = spec.build(42, new Adam(0.005), DataType.FLOAT);
                try (TrainingEngine engine = TrainingEngines.create(sc, graph, training, 42)) {
                    double total = 0;
                    StringBuilder each = new StringBuilder();
                    int stepsBefore = graph.getConfiguration().getIterationCount();
                    for (int e = 1; e <= epochs; e++) {
                        long t = System.nanoTime();
                        if (approach.equals("direct")) {
                            engine.fitEpoch(minibatches);
                        } else {
                            engine.fitPaths(paths);
                        }
                        double s = (System.nanoTime() - t) / 1e9;
                        total += s;
                        each.append(String.format(" %.1f", s));
                    }
                    // The driver network's step count after the epochs: a minibatch a worker dropped is not counted.
                    int steps = engine.network().getConfiguration().getIterationCount() - stepsBefore;
                    System.out.printf("round %d %-6s: %d epochs in %.1f s (per epoch:%s), %.0f windows/s, %d steps "
                                    + "on the driver's network%n", round, approach, epochs, total, each,
                            windows * epochs / total, steps);
                }
            }
        }
        spark.stop();
    }
}

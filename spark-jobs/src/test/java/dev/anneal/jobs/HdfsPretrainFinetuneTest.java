package dev.anneal.jobs;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.core.net.LstmLanguageModelSpec;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The walking skeleton end to end on a real HDFS (an in-process MiniDFSCluster) and Spark local[2]: pretrain on
 * data-samples text read from HDFS, checkpoint to HDFS, fine-tune a spam classifier from the hdfs:// checkpoint.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class HdfsPretrainFinetuneTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    static java.nio.file.Path hdfsBase;

    private static MiniDFSCluster cluster;
    private static String hdfs;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, hdfsBase.toString());
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        cluster.waitActive();
        hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
        FileSystem fs = cluster.getFileSystem();
        fs.mkdirs(new Path(hdfs + "/corpus"));
        fs.mkdirs(new Path(hdfs + "/labeled"));
        java.nio.file.Path samples = java.nio.file.Path.of("..", "data-samples").toAbsolutePath().normalize();
        // Two addresses and a gzipped chapter file: enough text for a short run, and both readers exercised.
        for (String f : List.of("text/sotu-1941-roosevelt.txt", "text/sotu-1961-kennedy.txt",
                "text/moby-dick-ch011-020.txt.gz")) {
            fs.copyFromLocalFile(new Path(samples.resolve(f).toUri()), new Path(hdfs + "/corpus/"));
        }
        fs.copyFromLocalFile(new Path(samples.resolve("spam/emails.jsonl").toUri()),
                new Path(hdfs + "/labeled/emails.jsonl"));
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) {
            cluster.shutdown();
        }
    }

    @Test
    void pretrainsToHdfsThenFinetunesFromTheHdfsCheckpoint() throws IOException {
        long seed = 42;
        List<String> pretrainSets = List.of(
                "input=" + hdfs + "/corpus", "output=" + hdfs + "/runs/lm", "seed=" + seed,
                "text.windowLength=48", "model.embeddingSize=16", "model.hiddenSize=48",
                "training.learningRate=0.01");
        List<String> twoEpochs = new java.util.ArrayList<>(pretrainSets);
        twoEpochs.add("training.epochs=2");
        PretrainJob.Result lm = PretrainJob.run(PretrainConfig.SCHEMA.load(null, twoEpochs), false);

        FileSystem fs = cluster.getFileSystem();
        Path step = new Path(lm.checkpoint());
        assertTrue(lm.checkpoint().startsWith(hdfs + "/runs/lm/checkpoints/step-"), lm.checkpoint());
        for (String file : List.of(CheckpointStore.MODEL, CheckpointStore.VOCABULARY, CheckpointStore.MANIFEST)) {
            assertTrue(fs.exists(new Path(step, file)), file + " is on HDFS");
        }
        String latest = new String(fs.open(new Path(hdfs + "/runs/lm/checkpoints/LATEST")).readAllBytes(),
                StandardCharsets.UTF_8).trim();
        assertEquals(step.getName(), latest);
        assertTrue(lm.lastLoss() < lm.firstLoss(), "pretraining lowers the validation loss: " + lm.epochs());

        // The same output with one more epoch continues from LATEST instead of starting again.
        List<String> oneMore = new java.util.ArrayList<>(pretrainSets);
        oneMore.add("training.epochs=3");
        PretrainJob.Result continued = PretrainJob.run(PretrainConfig.SCHEMA.load(null, oneMore), false);
        assertEquals(1, continued.epochs().size(), "only the missing epoch is trained: " + continued.epochs());
        assertEquals(3, continued.epochs().get(0).epoch());
        long stepsPerEpoch = lm.epochs().get(0).step();
        assertEquals(3 * stepsPerEpoch, continued.epochs().get(0).step());
        assertTrue(fs.exists(step), "earlier checkpoints stay");
        step = new Path(continued.checkpoint());
        assertEquals(step.getName(), new String(fs.open(new Path(hdfs + "/runs/lm/checkpoints/LATEST"))
                .readAllBytes(), StandardCharsets.UTF_8).trim());

        // 0.01, not fine-tuning's default of 0.0005: the head starts from nothing and four epochs over a few
        // hundred e-mails are few updates (measured figures: docs/FINETUNING.md, "Learning rates").
        FinetuneConfig finetune = FinetuneConfig.SCHEMA.load(null, List.of(
                "input=" + hdfs + "/labeled/emails.jsonl", "output=" + hdfs + "/runs/spam",
                "checkpoint=" + hdfs + "/runs/lm", "seed=" + seed, "text.maxLength=200",
                "task.freeze=embedding", "training.epochs=4", "training.learningRate=0.01"));
        FinetuneJob.Result classifier = FinetuneJob.run(finetune, false, false);
        assertEquals(step.toString(), classifier.checkpoint(), "a run directory means its LATEST checkpoint");
        assertTrue(fs.exists(new Path(hdfs + "/runs/spam/metrics.json")));
        assertTrue(fs.exists(new Path(hdfs + "/runs/spam/model/" + CheckpointStore.MANIFEST)));

        CheckpointStore store = new CheckpointStore(new Configuration());
        Checkpoint pretrained = store.read(step, false);
        Checkpoint tuned = store.read(new Path(hdfs + "/runs/spam/model"), false);
        ComputationGraph init = new LstmLanguageModelSpec(lm.vocabulary().size(), 16, 48, 1)
                .build(seed, new Adam(0.01), DataType.FLOAT);

        INDArray embeddingBefore = pretrained.graph().getLayer("embedding").params();
        assertEquals(embeddingBefore, tuned.graph().getLayer("embedding").params(),
                "the frozen embedding is exactly as pretrained");
        assertNotEquals(init.getLayer("embedding").params(), embeddingBefore, "pretraining moved the embedding");

        INDArray lstmInit = init.getLayer("lstm_0").params();
        INDArray lstmPretrained = pretrained.graph().getLayer("lstm_0").params();
        INDArray lstmTuned = tuned.graph().getLayer("lstm_0").params();
        assertNotEquals(lstmPretrained, lstmTuned, "the unfrozen LSTM was fine-tuned");
        double fromPretrained = lstmTuned.distance2(lstmPretrained);
        double fromInit = lstmTuned.distance2(lstmInit);
        assertTrue(fromPretrained < fromInit, "fine-tuning started from the pretrained LSTM: distance "
                + fromPretrained + " to it, " + fromInit + " to a fresh initialisation");

        Map<String, Object> test = (Map<String, Object>) classifier.metrics().get("test");
        Map<String, Object> baseline = (Map<String, Object>) classifier.metrics().get("baseline");
        for (String key : List.of("accuracy", "precision", "recall", "f1", "auc")) {
            assertTrue(test.containsKey(key), key);
        }
        assertTrue(baseline.containsKey("majority_accuracy"));
        double f1 = ((Number) test.get("f1")).doubleValue();
        double baselineF1 = ((Number) baseline.get("f1")).doubleValue();
        assertTrue(f1 > baselineF1 + 0.2, "test F1 " + f1 + " beats the majority baseline's " + baselineF1);
        assertTrue(((Number) test.get("auc")).doubleValue() > 0.6, "AUC " + test.get("auc"));
    }
}

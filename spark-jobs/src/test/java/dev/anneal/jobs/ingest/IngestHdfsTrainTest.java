package dev.anneal.jobs.ingest;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.jobs.FinetuneJob;
import dev.anneal.jobs.LocalSpark;
import dev.anneal.jobs.PretrainJob;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ingest from and to {@code hdfs://} on an in-process HDFS, then pretrain from the dataset directory and fine-tune
 * from an ingested labeled dataset: the dataset is what the training jobs read.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class IngestHdfsTrainTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    static java.nio.file.Path base;

    private static MiniDFSCluster cluster;
    private static String hdfs;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("hdfs").toString());
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        cluster.waitActive();
        hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
        FileSystem fs = cluster.getFileSystem();
        java.nio.file.Path samples = java.nio.file.Path.of("..", "data-samples").toAbsolutePath().normalize();
        fs.mkdirs(new Path(hdfs + "/raw"));
        for (String f : List.of("text/sotu-1941-roosevelt.txt", "text/moby-dick-ch011-020.txt.gz")) {
            fs.copyFromLocalFile(new Path(samples.resolve(f).toUri()), new Path(hdfs + "/raw/"));
        }
        fs.copyFromLocalFile(new Path(samples.resolve("spam/emails.jsonl").toUri()), new Path(hdfs + "/emails.jsonl"));
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) {
            cluster.shutdown();
        }
    }

    @Test
    void ingestOnHdfsThenPretrainAndFinetuneFromDatasets() throws IOException {
        IngestJob.Result text = IngestFixtures.ingest(hdfs + "/raw", hdfs + "/datasets/text", false,
                "record.maxLength=2000");
        FileSystem fs = cluster.getFileSystem();
        assertTrue(fs.exists(new Path(hdfs + "/datasets/text/" + DatasetManifest.FILE)));
        assertTrue(fs.exists(new Path(hdfs + "/datasets/text/" + DatasetManifest.VOCABULARY_FILE)));
        for (DatasetManifest.Shard s : text.shards()) {
            Path p = new Path(hdfs + "/datasets/text/" + s.path());
            assertEquals(s.bytes(), fs.getFileStatus(p).getLen(), "the manifest's size of " + p);
        }
        assertTrue(text.slice().sources().get(0).startsWith("hdfs://"), text.slice().sources().toString());
        // 19,227 characters of the address (one line, split at 2,000) and the chapters' non-blank lines.
        assertTrue(text.slice().goodRecords() > 10 + 200, "records: " + text.slice().goodRecords());

        PretrainJob.Result lm = PretrainJob.run(PretrainConfig.SCHEMA.load(null, List.of(
                "input=" + hdfs + "/datasets/text", "output=" + hdfs + "/runs/lm", "spark.master=local[2]",
                "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=24", "training.epochs=1",
                "training.batchSize=32")), false);
        assertEquals(IngestFixtures.manifestOn(hdfs + "/datasets/text").vocabulary().sha256(),
                lm.vocabulary().sha256(), "pretraining used the dataset's vocabulary");
        assertTrue(Double.isFinite(lm.lastLoss()) && lm.lastLoss() < Math.log(lm.vocabulary().size()),
                "validation loss " + lm.lastLoss() + " below guessing uniformly");
        assertTrue(lm.validationWindows() > 0 && lm.trainWindows() > 10 * lm.validationWindows() / 2,
                "train " + lm.trainWindows() + ", validation " + lm.validationWindows());
        assertTrue(fs.exists(new Path(lm.checkpoint(), CheckpointStore.MANIFEST)));

        IngestJob.Result spam = IngestFixtures.ingest(hdfs + "/emails.jsonl", hdfs + "/datasets/spam", false,
                "source=jsonl", "labelField=label", "idField=id", "split.validationFraction=0.15",
                "split.testFraction=0.15");
        assertEquals(1205, spam.slice().goodRecords(), "every e-mail of the sample");
        FinetuneJob.Result tuned = FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, List.of(
                "input=" + hdfs + "/datasets/spam", "output=" + hdfs + "/runs/spam", "checkpoint=" + hdfs
                        + "/runs/lm", "spark.master=local[2]", "text.maxLength=64", "training.epochs=1")),
                false, false);
        @SuppressWarnings("unchecked")
        Map<String, Number> records = (Map<String, Number>) tuned.metrics().get("records");
        long total = records.get("train").longValue() + records.get("validation").longValue()
                + records.get("test").longValue();
        assertEquals(1205, total, "the dataset's splits cover every record: " + records);
        long test = records.get("test").longValue();
        assertTrue(test > 120 && test < 240, "about 15% test: " + records);

        continueOnTheTaskText(lm, spam);
    }

    /**
     * ULMFiT's second stage: the language model continued on the e-mails (another dataset, with its own
     * vocabulary) through init.checkpoint, then the scratch baseline on a few labels.
     */
    private void continueOnTheTaskText(PretrainJob.Result lm, IngestJob.Result spam) {
        List<String> continued = List.of("input=" + hdfs + "/datasets/spam", "output=" + hdfs + "/runs/lm-spam",
                "spark.master=local[2]", "text.windowLength=32", "model.embeddingSize=8", "model.hiddenSize=24",
                "training.epochs=1", "training.batchSize=32", "training.learningRate=0.002",
                "training.stepsPerRun=4", "checkpoint.everySteps=4", "init.checkpoint=" + hdfs + "/runs/lm");
        CheckpointException unfit = assertThrows(CheckpointException.class, () -> PretrainJob.run(
                PretrainConfig.SCHEMA.load(null, List.of("input=" + hdfs + "/datasets/spam", "output=" + hdfs
                        + "/runs/unfit", "model.embeddingSize=8", "model.hiddenSize=32", "init.checkpoint=" + hdfs
                        + "/runs/lm")), false));
        assertTrue(unfit.getMessage().contains("model.hiddenSize is 32 but the checkpoint's hiddenSize is 24"),
                unfit.getMessage());
        PretrainJob.Result second = PretrainJob.run(PretrainConfig.SCHEMA.load(null, continued), false);
        CheckpointStore store = new CheckpointStore(new Configuration());
        Checkpoint from = store.read(new Path(lm.checkpoint()), false);
        Checkpoint after = store.read(new Path(second.checkpoint()), false);
        assertEquals(from.vocabulary().sha256(), after.vocabulary().sha256(),
                "the model keeps its vocabulary; the e-mails' ids are mapped to it");
        assertTrue(!spam.manifest().vocabulary().sha256().equals(from.vocabulary().sha256()),
                "the e-mails have a vocabulary of their own");
        assertEquals(4, after.info().step(), "a new run: its own steps from 0");
        // Adam moves a parameter by at most about 3.2 learning rates a step (the worst case of its bias-corrected
        // moments), so 4 steps from the first model stay within 0.026 of it; a fresh network is nowhere near.
        double moved = from.graph().params().sub(after.graph().params()).amaxNumber().doubleValue();
        assertTrue(moved > 0 && moved < 4 * 3.2 * 0.002, "largest change from the first model " + moved);

        FinetuneJob.Result scratch = FinetuneJob.run(FinetuneConfig.SCHEMA.load(null, List.of(
                "input=" + hdfs + "/datasets/spam", "output=" + hdfs + "/runs/spam-scratch", "checkpoint=" + hdfs
                        + "/runs/lm-spam", "spark.master=local[2]", "text.maxLength=64", "training.epochs=1",
                "split.trainExamples=50", "split.validationExamples=10", "task.init=random", "seed=3")), false,
                false);
        @SuppressWarnings("unchecked")
        Map<String, Number> records = (Map<String, Number>) scratch.metrics().get("records");
        assertEquals(50, records.get("train").longValue(), "split.trainExamples: " + records);
        assertEquals(10, records.get("validation").longValue(), "split.validationExamples: " + records);
        // The embedding stays frozen (task.freeze's default): task.init=random froze fresh weights, not the model's.
        Checkpoint tuned = store.read(new Path(scratch.model()), false);
        assertTrue(!after.graph().getLayer("embedding").getParam("W")
                .equalsWithEps(tuned.graph().getLayer("embedding").getParam("W"), 1e-3),
                "task.init=random: the embedding is not the pretrained one");
    }
}

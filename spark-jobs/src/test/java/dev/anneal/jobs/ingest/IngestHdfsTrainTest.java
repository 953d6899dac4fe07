package dev.anneal.jobs.ingest;

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
    }
}

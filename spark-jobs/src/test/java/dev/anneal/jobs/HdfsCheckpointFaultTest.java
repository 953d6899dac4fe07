package dev.anneal.jobs;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.protocol.DatanodeInfo;
import org.apache.hadoop.hdfs.protocol.LocatedBlock;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A datanode of a three-node HDFS (replication 2) stops while a checkpoint is being written to it: the write
 * completes, the checkpoint verifies and loads, and the run goes on checkpointing on the two nodes left.
 *
 * <p>The datanode stopped is one that holds a replica of the block of {@code model.zip} being written at that moment,
 * so the HDFS client has to rebuild its write pipeline without it; the next checkpoint's files are then created while
 * the namenode still counts the stopped node as live, so the client also has to exclude it when it sets up
 * pipelines.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class HdfsCheckpointFaultTest {
    @TempDir
    static java.nio.file.Path hdfsBase;

    private static MiniDFSCluster cluster;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, hdfsBase.toString());
        conf.setInt("dfs.replication", 2);
        // Small blocks (the namenode's minimum), so that model.zip spans several and its write takes a while.
        conf.setLong("dfs.blocksize", 1 << 20);
        cluster = new MiniDFSCluster.Builder(conf).numDataNodes(3).build();
        cluster.waitActive();
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) {
            cluster.shutdown();
        }
    }

    /** What the fault thread did: which node it stopped, while which file was open, and when the node was down. */
    private record Fault(String datanode, String file, long blocksWritten, long downAtNanos) {
    }

    @Test
    void aDatanodeStoppedDuringACheckpointWriteLeavesACheckpointThatLoads() throws Exception {
        DistributedFileSystem fs = cluster.getFileSystem();
        String hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
        Path run = new Path(hdfs + "/runs/lm");
        CheckpointStore store = new CheckpointStore(cluster.getConfiguration(0));
        Checkpoint checkpoint = checkpoint(1);

        CompletableFuture<Fault> fault = CompletableFuture.supplyAsync(() -> stopAPipelineDatanode(fs,
                new Path(run, CheckpointStore.CHECKPOINTS)));
        long t0 = System.nanoTime();
        Path written = store.writeStep(run, checkpoint);
        long writeDone = System.nanoTime();
        Fault f = fault.get(60, TimeUnit.SECONDS);

        assertTrue(f.downAtNanos() < writeDone, "the datanode was down before the checkpoint write returned");
        assertEquals(2, cluster.getDataNodes().stream().filter(DataNode::isDatanodeUp).count());
        Checkpoint back = store.read(run, true);
        assertEquals("step-1", written.getName());
        assertEquals(checkpoint.graph().params(), back.graph().params());
        assertEquals(checkpoint.graph().getUpdater().getStateViewArray(),
                back.graph().getUpdater().getStateViewArray());
        assertEquals("step-1", new String(fs.open(new Path(run, "checkpoints/LATEST")).readAllBytes(),
                StandardCharsets.UTF_8).trim());

        // The namenode still counts the stopped node as live: new pipelines must leave it out on their own.
        long t1 = System.nanoTime();
        store.writeStep(run, checkpoint(2));
        long secondDone = System.nanoTime();
        assertEquals(2, store.read(run, true).info().step());

        System.out.printf("HDFS fault: stopped datanode %s %.0f ms into the write of step-1, while %s was open with "
                        + "%d block(s) allocated; step-1 written in %.0f ms and loads; step-2 (stopped node still "
                        + "registered) written in %.0f ms; model.zip %d bytes, replicas on running datanodes per block of step-1: %s%n",
                f.datanode(), (f.downAtNanos() - t0) / 1e6, f.file(), f.blocksWritten(), (writeDone - t0) / 1e6,
                (secondDone - t1) / 1e6, fs.getFileStatus(new Path(written, CheckpointStore.MODEL)).getLen(),
                liveReplicas(fs, new Path(written, CheckpointStore.MODEL)));
    }

    /**
     * Waits for the checkpoint's {@code model.zip} to be open for writing under its temporary directory, then stops
     * a datanode that holds the block being written.
     */
    private static Fault stopAPipelineDatanode(DistributedFileSystem fs, Path checkpoints) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            while (System.nanoTime() < deadline) {
                FileStatus[] entries = fs.exists(checkpoints) ? fs.listStatus(checkpoints) : new FileStatus[0];
                for (FileStatus st : entries) {
                    Path model = new Path(st.getPath(), CheckpointStore.MODEL);
                    if (!st.isDirectory() || !st.getPath().getName().endsWith(".tmp") || !fs.exists(model)) {
                        continue;
                    }
                    var blocks = fs.getClient().getLocatedBlocks(model.toUri().getPath(), 0);
                    LocatedBlock last = blocks.getLastLocatedBlock();
                    if (!blocks.isUnderConstruction() || last == null || last.getLocations().length == 0) {
                        continue;
                    }
                    DatanodeInfo target = last.getLocations()[0];
                    cluster.stopDataNode(target.getXferAddr());
                    return new Fault(target.getXferAddr(), model.toUri().getPath(), blocks.locatedBlockCount(),
                            System.nanoTime());
                }
                Thread.sleep(2);
            }
        } catch (IOException e) {
            throw new IllegalStateException("watching " + checkpoints + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("model.zip of the checkpoint was never seen open for writing");
    }

    /** Per block of {@code file}: the replicas on datanodes that are running (the namenode may still list others). */
    private static List<Long> liveReplicas(DistributedFileSystem fs, Path file) throws IOException {
        List<String> running = cluster.getDataNodes().stream().filter(DataNode::isDatanodeUp)
                .map(dn -> dn.getDatanodeId().getXferAddr()).toList();
        return fs.getClient().getLocatedBlocks(file.toUri().getPath(), 0, Long.MAX_VALUE).getLocatedBlocks()
                .stream()
                .map(b -> java.util.Arrays.stream(b.getLocations()).filter(d -> running.contains(d.getXferAddr()))
                        .count()).toList();
    }

    /**
     * The demo's vocabulary with a wider LSTM (512 units, 1.2 M parameters, about 14 MB with Adam's state): a write
     * long enough, at 1 MiB blocks, for a datanode to be stopped in the middle of it.
     */
    private static Checkpoint checkpoint(long step) {
        Map<Integer, Long> counts = new HashMap<>();
        for (int c = 32; c < 32 + 87; c++) {
            counts.put(c, 1000L - c);
        }
        CharVocabulary vocab = CharVocabulary.fromCounts(counts, 87);
        ComputationGraph graph = new LstmLanguageModelSpec(vocab.size(), 32, 512, 1)
                .build(step, new Adam(0.005), DataType.FLOAT);
        graph.getUpdater().getStateViewArray().assign(Nd4j.rand(DataType.FLOAT,
                graph.getUpdater().getStateViewArray().shape()));
        return new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", step, (int) step, step,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of()));
    }
}

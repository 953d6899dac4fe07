package dev.anneal.jobs.pipeline;

import dev.anneal.core.data.InputFingerprint;
import dev.anneal.core.pipeline.ModelRegistry;
import dev.anneal.core.pipeline.PipelineLock;
import dev.anneal.core.pipeline.PipelineState;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pipeline's files on a real HDFS (an in-process MiniDFSCluster): the lock through
 * {@code FileSystem.create(overwrite=false)}, its refusal and stale takeover; state, versions, CURRENT and the log
 * replaced by rename.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PipelineHdfsTest {
    @TempDir
    static java.nio.file.Path base;

    private static MiniDFSCluster cluster;
    private static FileSystem fs;
    private static Configuration conf;
    private static Path root;

    @BeforeAll
    static void startHdfs() throws IOException {
        Configuration c = new Configuration();
        c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
        cluster = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
        cluster.waitActive();
        fs = cluster.getFileSystem();
        conf = fs.getConf();
        root = new Path("hdfs://127.0.0.1:" + cluster.getNameNodePort() + "/anneal/pipeline");
    }

    @AfterAll
    static void stopHdfs() {
        if (cluster != null) {
            cluster.shutdown();
        }
    }

    @Test
    void theLockIsExclusiveOnHdfsAndAStaleOneIsTakenOver() throws IOException {
        Path file = new Path(root, PipelineLock.FILE);
        try (PipelineLock lock = PipelineLock.acquire(root, "day1", 30, conf)) {
            PipelineLock.HeldException e = assertThrows(PipelineLock.HeldException.class,
                    () -> PipelineLock.acquire(root, "day2", 30, conf));
            assertTrue(e.getMessage().contains("locked by run day1") && e.getMessage().contains("hdfs://"),
                    e.getMessage());
            // An hour without a refresh, as a holder on another machine that died would leave it.
            fs.setTimes(file, System.currentTimeMillis() - 3_600_000, -1);
            try (PipelineLock next = PipelineLock.acquire(root, "day2", 30, conf)) {
                assertNotNull(next.takeover());
                assertEquals("day1", next.takeover().previous().runId());
                assertTrue(next.takeover().reason().contains("not refreshed"), next.takeover().reason());
            }
            assertFalse(fs.exists(file), "released by its holder day2");
        }
        assertEquals(0, fs.listStatus(root, p -> p.getName().startsWith(PipelineLock.FILE)).length);
    }

    @Test
    void theEvaluationDataIsFingerprintedOnHdfs() throws IOException {
        Path table = new Path(root, "held-out");
        Path part = new Path(table, "part-0.json");
        try (FSDataOutputStream o = fs.create(part)) {
            o.write("{\"text\":\"a\",\"label\":1}\n".getBytes(StandardCharsets.UTF_8));
        }
        fs.create(new Path(table, "_SUCCESS")).close();
        InputFingerprint first = InputFingerprint.of(table.toString(), "all records", conf);
        assertTrue(first.input().startsWith("hdfs://"), first.input());
        assertEquals(1, first.files(), "the marker is not data");
        assertEquals(first, InputFingerprint.of(table.toString(), "all records", conf));
        try (FSDataOutputStream o = fs.create(part, true)) {
            o.write("{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":0}\n"
                    .getBytes(StandardCharsets.UTF_8));
        }
        assertNotEquals(first.sha256(), InputFingerprint.of(table.toString(), "all records", conf).sha256(),
                "rewritten with more records");
    }

    @Test
    void stateRegistryAndLogOnHdfs() throws IOException {
        PipelineState state = PipelineState.load(new Path(root, "pipeline"), "day1", conf);
        state.record("pretrain", PipelineState.STARTED, Map.of("targetStep", 200));
        assertEquals(200, ((Number) PipelineState.load(new Path(root, "pipeline"), "day1", conf).step("pretrain")
                .get("targetStep")).intValue());

        Path out = new Path(root, "runs/finetune/day1");
        try (FSDataOutputStream o = fs.create(new Path(out, "model/model.zip"))) {
            o.write("weights".getBytes(StandardCharsets.UTF_8));
        }
        try (FSDataOutputStream o = fs.create(new Path(out, "metrics.json"))) {
            o.write("{\"test\":{\"f1\":0.7}}".getBytes(StandardCharsets.UTF_8));
        }
        ModelRegistry registry = new ModelRegistry(new Path(root, "models/spam"), conf);
        registry.addVersion("v0001", new Path(out, "model"), new Path(out, "metrics.json"),
                Map.of("runId", "day1", "test", Map.of("f1", 0.7)));
        registry.setCurrent("v0001");
        registry.setCurrent("v0001");
        assertEquals(0.7, registry.current().orElseThrow().metric("f1"));
        assertTrue(fs.exists(new Path(root, "models/spam/versions/v0001/model/model.zip")));
        assertTrue(registry.logPromotion(Map.of("runId", "day1", "decision", "promoted")));
        assertFalse(registry.logPromotion(Map.of("runId", "day1", "decision", "promoted")));
        assertEquals(List.of("day1"), registry.promotions().stream().map(e -> e.get("runId")).toList());
    }
}

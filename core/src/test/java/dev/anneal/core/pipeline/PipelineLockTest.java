package dev.anneal.core.pipeline;

import dev.anneal.core.AnnealException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** pipeline.lock: one holder at a time, a clear refusal naming it, stale locks detected and taken over. */
class PipelineLockTest {
    @TempDir
    java.nio.file.Path dir;

    private final Configuration conf = new Configuration();

    private Path root() {
        return new Path(dir.toUri());
    }

    private java.nio.file.Path lockFile() {
        return dir.resolve(PipelineLock.FILE);
    }

    /** Writes a lock file as another holder would have. */
    private void plant(String host, long pid, String runId, long ageMillis) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("host", host);
        m.put("pid", pid);
        m.put("runId", runId);
        m.put("startedAt", "2026-11-29T00:00:00Z");
        m.put("token", "planted");
        Files.write(lockFile(), PipelineFiles.toJson(m));
        FileSystem.getLocal(conf).setTimes(new Path(lockFile().toUri()), System.currentTimeMillis() - ageMillis, -1);
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void aSecondRunIsRefusedNamingTheHolderAndTheLockIsReleasedOnClose() throws IOException {
        try (PipelineLock lock = PipelineLock.acquire(root(), "day1", 30, conf)) {
            assertNull(lock.takeover());
            String content = Files.readString(lockFile(), StandardCharsets.UTF_8);
            assertTrue(content.contains("\"runId\" : \"day1\"") && content.contains("\"pid\" : "
                    + ProcessHandle.current().pid()), content);
            AnnealException e = assertThrows(PipelineLock.HeldException.class,
                    () -> PipelineLock.acquire(root(), "day2", 30, conf));
            assertEquals(1, e.exitCode());
            assertTrue(e.getMessage().contains("locked by run day1") && e.getMessage().contains("pid "
                    + ProcessHandle.current().pid()) && e.getMessage().contains(PipelineLock.FILE), e.getMessage());
            assertTrue(Files.exists(lockFile()), "the refused run leaves the holder's lock alone");
        }
        assertFalse(Files.exists(lockFile()), "released on close");
        try (PipelineLock again = PipelineLock.acquire(root(), "day2", 30, conf)) {
            assertEquals("day2", again.holder().runId());
        }
    }

    @Test
    void aLockWhoseProcessIsGoneOnThisHostIsTakenOver() throws Exception {
        long dead = deadPid();
        plant(PipelineLock.hostName(), dead, "day1", 0);
        try (PipelineLock lock = PipelineLock.acquire(root(), "day1", 30, conf)) {
            assertNotNull(lock.takeover(), "a fresh lock of a dead process is stale all the same");
            assertEquals(dead, lock.takeover().previous().pid());
            assertTrue(lock.takeover().reason().contains("gone"), lock.takeover().reason());
            assertTrue(Files.readString(lockFile()).contains("\"pid\" : " + ProcessHandle.current().pid()));
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "neither the stale lock nor a temporary is left behind");
        }
    }

    @Test
    void aLockOfAnotherHostIsStaleOnlyWhenNotRefreshedForStaleMinutes() throws Exception {
        plant("other-host.example", 1, "day1", 5 * 60_000);
        AnnealException e = assertThrows(PipelineLock.HeldException.class,
                () -> PipelineLock.acquire(root(), "day2", 30, conf));
        assertTrue(e.getMessage().contains("other-host.example"), e.getMessage());
        plant("other-host.example", 1, "day1", 31 * 60_000);
        try (PipelineLock lock = PipelineLock.acquire(root(), "day2", 30, conf)) {
            assertEquals("other-host.example", lock.takeover().previous().host());
            assertTrue(lock.takeover().reason().contains("not refreshed"), lock.takeover().reason());
        }
    }

    @Test
    void theHolderRefreshesItsLockSoALongRunIsNotTakenOver() throws Exception {
        // staleMinutes 0.04 = 2.4 s: refreshed every second.
        try (PipelineLock lock = PipelineLock.acquire(root(), "day1", 0.04, conf)) {
            Path file = new Path(lockFile().toUri());
            FileSystem fs = FileSystem.getLocal(conf);
            fs.setTimes(file, System.currentTimeMillis() - 60_000, -1);
            long deadline = System.currentTimeMillis() + 10_000;
            while (System.currentTimeMillis() - fs.getFileStatus(file).getModificationTime() > 30_000) {
                assertTrue(System.currentTimeMillis() < deadline, "the lock was not refreshed within 10 s");
                Thread.sleep(100);
            }
            assertThrows(PipelineLock.HeldException.class, () -> PipelineLock.acquire(root(), "day2", 0.04, conf));
        }
    }

    @Test
    void closeLeavesALockThatIsNoLongerThisRuns() throws Exception {
        PipelineLock lock = PipelineLock.acquire(root(), "day1", 30, conf);
        plant("other-host.example", 1, "day9", 0);
        lock.close();
        assertTrue(Files.readString(lockFile()).contains("day9"));
    }

    @Test
    void anUnreadableFreshLockIsRefusedAnOldOneTakenOver() throws Exception {
        Files.write(lockFile(), new byte[0]);
        AnnealException e = assertThrows(PipelineLock.HeldException.class,
                () -> PipelineLock.acquire(root(), "day2", 30, conf));
        assertTrue(e.getMessage().contains("unreadable"), e.getMessage());
        FileSystem.getLocal(conf).setTimes(new Path(lockFile().toUri()), System.currentTimeMillis() - 3_600_000, -1);
        try (PipelineLock lock = PipelineLock.acquire(root(), "day2", 30, conf)) {
            assertNull(lock.takeover().previous());
        }
    }
}

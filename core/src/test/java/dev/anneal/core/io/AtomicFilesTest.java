package dev.anneal.core.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFilesTest {
    @TempDir
    java.nio.file.Path dir;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private List<String> names() throws IOException {
        try (Stream<java.nio.file.Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void replacesAFileWrittenThroughHadoopAndLeavesNoSidecarOrTemporary() throws IOException {
        Configuration conf = new Configuration();
        Path target = new Path(dir.toUri().toString(), "manifest.json");
        // Hadoop's checksummed local filesystem writes a .crc beside the file; a replacement must not leave it stale.
        try (var out = FileSystem.getLocal(conf).create(target)) {
            out.write(utf8("old content, longer than the new"));
        }
        assertEquals(List.of(".manifest.json.crc", "manifest.json"), names());

        AtomicFiles.replace(target, utf8("new"), conf);

        assertEquals("new", Files.readString(dir.resolve("manifest.json")));
        assertEquals(List.of("manifest.json"), names());
        try (var in = FileSystem.getLocal(conf).open(target)) {
            assertEquals("new", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aTemporaryThatExistsIsRefusedAndTheTargetKept() throws IOException {
        Configuration conf = new Configuration();
        Path target = new Path(dir.toUri().toString(), "LATEST");
        AtomicFiles.replace(target, utf8("step-1\n"), conf);
        Path tmp = AtomicFiles.temporarySibling(target);
        assertTrue(tmp.getName().startsWith(".LATEST.") && tmp.getName().endsWith(AtomicFiles.TEMPORARY_SUFFIX),
                tmp.getName());
        Files.writeString(dir.resolve(tmp.getName()), "someone else's");

        assertThrows(IOException.class, () -> AtomicFiles.replace(target, tmp, utf8("step-2\n"), conf));

        assertEquals("step-1\n", Files.readString(dir.resolve("LATEST")));
    }
}

package dev.anneal.core.data;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fingerprint of evaluation data: stable while nothing changes, different after any change that matters. */
class InputFingerprintTest {
    private final Configuration conf = new Configuration();

    private InputFingerprint of(Path p, String selection) {
        return InputFingerprint.of(p.toUri().toString(), selection, conf);
    }

    @Test
    void sameFilesSameFingerprintAnyChangeAnother(@TempDir Path dir) throws IOException {
        Path table = dir.resolve("table");
        Files.createDirectories(table.resolve("part=1"));
        Files.writeString(table.resolve("a.json"), "{\"text\":\"a\",\"label\":1}\n");
        Files.writeString(table.resolve("part=1/b.json"), "{\"text\":\"b\",\"label\":0}\n");
        InputFingerprint first = of(table, "all records");
        assertEquals(first, of(table, "all records"));
        assertEquals(2, first.files());
        assertEquals(Files.size(table.resolve("a.json")) + Files.size(table.resolve("part=1/b.json")), first.bytes());
        assertTrue(first.input().startsWith("file:"), first.input());

        // What readers skip does not count: a committer's marker, a hidden temporary.
        Files.writeString(table.resolve("_SUCCESS"), "");
        Files.writeString(table.resolve(".b.json.tmp"), "partial");
        assertEquals(first, of(table, "all records"));

        assertNotEquals(first.sha256(), of(table, "split test").sha256(), "other records of the same files");
        FileTime t = Files.getLastModifiedTime(table.resolve("a.json"));
        Files.setLastModifiedTime(table.resolve("a.json"), FileTime.fromMillis(t.toMillis() + 5_000));
        InputFingerprint touched = of(table, "all records");
        assertNotEquals(first.sha256(), touched.sha256(), "rewritten (a new time)");
        Files.writeString(table.resolve("c.json"), "{\"text\":\"c\",\"label\":1}\n");
        assertNotEquals(touched.sha256(), of(table, "all records").sha256(), "a file added");

        Path file = dir.resolve("one.jsonl");
        Files.writeString(file, "{\"text\":\"a\",\"label\":1}\n");
        InputFingerprint one = of(file, "all records");
        assertEquals(1, one.files());
        Files.writeString(file, "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":0}\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(Files.getLastModifiedTime(file).toMillis()));
        assertNotEquals(one.sha256(), of(file, "all records").sha256(), "appended: another length");
    }

    @Test
    void aMissingOrEmptyInputIsAnErrorNamingIt(@TempDir Path dir) throws IOException {
        InputException e = assertThrows(InputException.class, () -> of(dir.resolve("nope"), "all records"));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("no such file"), e.getMessage());
        Files.createDirectories(dir.resolve("empty"));
        e = assertThrows(InputException.class, () -> of(dir.resolve("empty"), "all records"));
        assertTrue(e.getMessage().contains("empty") && e.getMessage().contains("no files"), e.getMessage());
    }
}

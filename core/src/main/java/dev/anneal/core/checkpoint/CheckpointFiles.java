package dev.anneal.core.checkpoint;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

import static dev.anneal.core.checkpoint.CheckpointStore.FORMAT;
import static dev.anneal.core.checkpoint.CheckpointStore.FORMAT_VERSION;
import static dev.anneal.core.checkpoint.CheckpointStore.MANIFEST;
import static dev.anneal.core.checkpoint.CheckpointStore.MODEL;
import static dev.anneal.core.checkpoint.CheckpointStore.VOCABULARY;

/**
 * A checkpoint directory read back: its manifest parsed and checked for format and version, and its files checked
 * against the manifest (exactly the listed files, each with its size and sha256), before anything is deserialized.
 * Every read is capped, so a damaged or hostile file cannot exhaust memory.
 */
final class CheckpointFiles {
    private static final long MAX_MANIFEST_BYTES = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointFiles() {
    }

    static Map<String, Object> readManifest(FileSystem fs, Path dir) throws IOException {
        Path path = new Path(dir, MANIFEST);
        Map<String, Object> m;
        try {
            m = JSON.readValue(readAll(fs, path, MAX_MANIFEST_BYTES), new TypeReference<>() { });
        } catch (FileNotFoundException e) {
            throw new CheckpointException(path + " is missing: " + dir + " is not an Anneal checkpoint");
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new CheckpointException(path + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (!FORMAT.equals(m.get("format"))) {
            throw new CheckpointException(path + ": format is '" + m.get("format") + "', expected '" + FORMAT + "'");
        }
        if (!(m.get("formatVersion") instanceof Number v) || v.intValue() != FORMAT_VERSION) {
            throw new CheckpointException(path + ": formatVersion " + m.get("formatVersion")
                    + " is not one this Anneal reads (" + FORMAT_VERSION + ")");
        }
        for (String key : new String[] {"job", "step", "epoch", "seed", "network", "vocabulary", "config", "files"}) {
            if (!m.containsKey(key)) {
                throw new CheckpointException(path + ": field '" + key + "' is missing");
            }
        }
        return m;
    }

    /** Checks that the directory holds exactly the manifest's files, each with its size and sha256. */
    static void verify(FileSystem fs, Path dir, Map<String, Object> manifest) throws IOException {
        Map<String, Object> files = map(manifest, "files", dir);
        for (String required : new String[] {MODEL, VOCABULARY}) {
            if (!files.containsKey(required)) {
                throw new CheckpointException(new Path(dir, MANIFEST) + ": lists no " + required);
            }
        }
        for (FileStatus st : fs.listStatus(dir)) {
            String name = st.getPath().getName();
            boolean checksumSidecar = name.startsWith(".") && name.endsWith(".crc");
            if (!checksumSidecar && !name.equals(MANIFEST) && !files.containsKey(name)) {
                throw new CheckpointException(st.getPath() + ": not listed in " + MANIFEST
                        + "; refusing a checkpoint with files Anneal did not write");
            }
        }
        for (Map.Entry<String, Object> e : files.entrySet()) {
            Path path = new Path(dir, e.getKey());
            if (!(e.getValue() instanceof Map<?, ?> entry) || !(entry.get("sha256") instanceof String expected)
                    || !(entry.get("bytes") instanceof Number bytes)) {
                throw new CheckpointException(new Path(dir, MANIFEST) + ": entry for " + e.getKey()
                        + " needs sha256 and bytes");
            }
            if (!e.getKey().matches("[A-Za-z0-9._-]+") || e.getKey().startsWith(".")) {
                throw new CheckpointException(new Path(dir, MANIFEST) + ": file name '" + e.getKey()
                        + "' is not a plain file name");
            }
            if (!fs.exists(path)) {
                throw new CheckpointException(path + " is missing (listed in " + MANIFEST + ")");
            }
            long actualBytes = fs.getFileStatus(path).getLen();
            if (actualBytes != bytes.longValue()) {
                throw new CheckpointException(path + ": size " + actualBytes + " bytes, expected " + bytes
                        + " (truncated or replaced)");
            }
            String actual = sha256Of(fs, path);
            if (!actual.equals(expected)) {
                throw new CheckpointException(path + ": sha256 " + actual + ", expected " + expected + " (damaged)");
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> manifest, String key, Path dir) {
        if (!(manifest.get(key) instanceof Map<?, ?> m)) {
            throw new CheckpointException(new Path(dir, MANIFEST) + ": field '" + key + "' must be an object");
        }
        return (Map<String, Object>) m;
    }

    static String sha256Of(FileSystem fs, Path path) throws IOException {
        MessageDigest sha = sha256();
        try (FSDataInputStream raw = fs.open(path); DigestInputStream in = new DigestInputStream(raw, sha)) {
            byte[] buf = new byte[1 << 16];
            while (in.read(buf) >= 0) {
                // reading feeds the digest
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static byte[] readAll(FileSystem fs, Path path, long maxBytes) throws IOException {
        long len = fs.getFileStatus(path).getLen();
        if (len > maxBytes) {
            throw new CheckpointException(path + ": " + len + " bytes, more than the " + maxBytes + " allowed");
        }
        try (FSDataInputStream in = fs.open(path)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) len);
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

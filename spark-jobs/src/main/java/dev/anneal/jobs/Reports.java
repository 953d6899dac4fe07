package dev.anneal.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.util.Map;

/** How jobs write what they did: configs and figures as JSON for manifests and metrics.json, durations for logs. */
final class Reports {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Reports() {
    }

    /** A config record as the nested map a checkpoint manifest stores. */
    static Map<String, Object> asMap(Object record) {
        return JSON.convertValue(record, new TypeReference<Map<String, Object>>() { });
    }

    static String toJson(Object value) {
        try {
            return JSON.writeValueAsString(value) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String duration(double seconds) {
        if (seconds < 120) {
            return String.format("%.1f s", seconds);
        }
        return String.format("%d min %02d s", (long) seconds / 60, (long) seconds % 60);
    }
}

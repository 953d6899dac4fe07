package dev.anneal.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The scoring tests' independent definitions of what {@code anneal evaluate} computes, written from the
 * definitions rather than from the job's code, so that a figure of the job is checked against another computation;
 * and the readers of what the scoring jobs write.
 */
final class MetricDefinitions {
    private MetricDefinitions() {
    }

    /** ROC AUC as P(score of a positive > score of a negative) + P(equal) / 2, over every pair. */
    static double pairwiseAuc(double[] score, int[] positive) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < score.length; i++) {
            for (int j = 0; j < score.length; j++) {
                if (positive[i] == 1 && positive[j] == 0) {
                    pairs++;
                    wins += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
                }
            }
        }
        return wins / pairs;
    }

    /** A JSON number of a metrics file as a double. */
    static double num(Object o) {
        return ((Number) o).doubleValue();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A JSON file the jobs wrote ({@code metrics.json}). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> read(Path p) throws IOException {
        return JSON.readValue(p.toFile(), Map.class);
    }

    /** Every row of a scoring job's {@code OUTPUT/quarantine/} (JSON Lines files). */
    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> quarantine(Path out) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(out.resolve("quarantine"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".json")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    rows.add(JSON.readValue(line, Map.class));
                }
            }
        }
        return rows;
    }
}

package dev.anneal.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.anneal.core.DivergenceException;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.Map;

/** Small pieces every job uses: the config as a map for manifests, JSON output, and the divergence guard. */
final class JobSupport {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JobSupport() {
    }

    static Map<String, Object> asMap(Object record) {
        return JSON.convertValue(record, new TypeReference<Map<String, Object>>() { });
    }

    static String toJson(Object value) {
        try {
            return JSON.writeValueAsString(value) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the run (exit 4) when the loss or any parameter is NaN or infinite, before anything is saved. */
    static void requireFinite(ComputationGraph graph, double loss, String when) {
        if (!Double.isFinite(loss)) {
            throw new DivergenceException("training diverged " + when + ": loss is " + loss
                    + "; no checkpoint was written for it (lower training.learningRate)");
        }
        double sum = graph.params().sumNumber().doubleValue();
        if (!Double.isFinite(sum)) {
            throw new DivergenceException("training diverged " + when + ": the parameters hold NaN or Inf; "
                    + "no checkpoint was written for it (lower training.learningRate)");
        }
    }

    static String duration(double seconds) {
        if (seconds < 120) {
            return String.format("%.1f s", seconds);
        }
        return String.format("%d min %02d s", (long) seconds / 60, (long) seconds % 60);
    }
}

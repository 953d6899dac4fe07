package dev.anneal.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import dev.anneal.jobs.engine.GpuBinding;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.engine.TrainingEngine;

import java.util.List;
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

    /** Bytes as a person reads them: 1.2 MB. */
    static String bytes(double bytes) {
        String[] units = {"B", "kB", "MB", "GB", "TB"};
        int u = 0;
        while (bytes >= 1000 && u < units.length - 1) {
            bytes /= 1000;
            u++;
        }
        return u == 0 ? String.format("%.0f B", bytes) : String.format("%.1f %s", bytes, units[u]);
    }

    /**
     * What an engine's last pass moved and which GPUs it used, for an epoch's entry in metrics.json; logs the same.
     *
     * @param minibatches minibatches in the pass, over all workers
     */
    static Map<String, Object> enginePass(TrainingEngine engine, long minibatches, org.slf4j.Logger log) {
        return enginePass(engine, engine.lastTraffic(), engine.deviceBindings(), minibatches, log);
    }

    /** As above, for an epoch trained in several passes: their traffic summed, their GPU bindings together. */
    static Map<String, Object> enginePass(TrainingEngine engine, Traffic traffic, List<GpuBinding.Binding> bindings,
                                          long minibatches, org.slf4j.Logger log) {
        long iterations = Math.max(1, (minibatches + engine.workers() - 1) / engine.workers());
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("engine", engine.name());
        m.put("workers", engine.workers());
        m.put("communication", traffic.toMap(iterations));
        log.info("{}: moved {} for the model ({} per iteration; broadcast {}, results {}, transport {}), data shuffle {}",
                engine.name(), bytes(traffic.modelBytes()), bytes(traffic.modelBytes() / (double) iterations),
                bytes(traffic.broadcastBytes()), bytes(traffic.resultBytes()), bytes(traffic.transportBytes()),
                bytes(traffic.dataShuffleBytes()));
        if (!bindings.isEmpty()) {
            m.put("gpuBindings", bindings.stream().map(GpuBinding.Binding::toString).sorted().toList());
            log.info("GPU bindings: {}", bindings);
        }
        return m;
    }

    static String duration(double seconds) {
        if (seconds < 120) {
            return String.format("%.1f s", seconds);
        }
        return String.format("%d min %02d s", (long) seconds / 60, (long) seconds % 60);
    }
}

package dev.anneal.core.config;

import java.util.List;
import java.util.Map;

/** The typed values of one job's configuration, after defaults, the YAML file and {@code --set} were applied. */
public final class ConfigValues {
    private final Map<String, Object> values;

    ConfigValues(Map<String, Object> values) {
        this.values = Map.copyOf(values);
    }

    private Object get(String key) {
        Object v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no config key " + key);
        }
        return v;
    }

    public String string(String key) {
        return (String) get(key);
    }

    public int integer(String key) {
        return (Integer) get(key);
    }

    public long longValue(String key) {
        return (Long) get(key);
    }

    public double decimal(String key) {
        return (Double) get(key);
    }

    public boolean bool(String key) {
        return (Boolean) get(key);
    }

    @SuppressWarnings("unchecked")
    public List<String> list(String key) {
        return (List<String>) get(key);
    }

    public Map<String, Object> asMap() {
        return values;
    }
}

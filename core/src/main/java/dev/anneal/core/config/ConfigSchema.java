package dev.anneal.core.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The keys one job accepts and how to turn them into its immutable config record: defaults, then a YAML file, then
 * {@code --set key=value} overrides, each checked against the known keys before the record validates itself.
 */
public final class ConfigSchema<T> {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final String job;
    private final Map<String, ConfigField> fields = new LinkedHashMap<>();
    private final Function<ConfigValues, T> factory;

    public ConfigSchema(String job, List<ConfigField> fields, Function<ConfigValues, T> factory) {
        this.job = job;
        for (ConfigField f : fields) {
            if (this.fields.put(f.key(), f) != null) {
                throw new IllegalArgumentException(job + ": config key " + f.key() + " is defined twice");
            }
        }
        this.factory = factory;
    }

    public String job() {
        return job;
    }

    public List<ConfigField> fields() {
        return List.copyOf(fields.values());
    }

    /** The config with every key at its default (required keys left empty, so this usually fails validation). */
    public T defaults() {
        return load(null, List.of());
    }

    /**
     * Loads the config.
     *
     * @param yamlFile  a YAML file whose keys are this schema's keys (nested maps or dotted names), or null
     * @param overrides {@code key=value} strings, applied in order after the file
     */
    public T load(Path yamlFile, List<String> overrides) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (ConfigField f : fields.values()) {
            values.put(f.key(), f.defaultValue());
        }
        if (yamlFile != null) {
            for (Map.Entry<String, Object> e : readYaml(yamlFile).entrySet()) {
                ConfigField f = field(e.getKey(), yamlFile.toString());
                values.put(f.key(), f.convert(e.getValue(), yamlFile.toString()));
            }
        }
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("--set " + override + ": expected key=value");
            }
            String key = override.substring(0, eq).trim();
            ConfigField f = field(key, "--set");
            values.put(f.key(), f.convert(override.substring(eq + 1), "--set " + key));
        }
        try {
            return factory.apply(new ConfigValues(values));
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(job + " config: " + e.getMessage());
        }
    }

    private ConfigField field(String key, String source) {
        ConfigField f = fields.get(key);
        if (f == null) {
            String closest = closestKey(key);
            throw new ConfigException(source + ": unknown " + job + " config key '" + key + "'"
                    + (closest == null ? "" : "; did you mean '" + closest + "'?")
                    + " (anneal " + job + " --help lists them)");
        }
        return f;
    }

    /** The known key nearest to {@code key} by edit distance, or null when none is near. */
    String closestKey(String key) {
        return fields.keySet().stream()
                .min(Comparator.comparingInt((String k) -> editDistance(key.toLowerCase(), k.toLowerCase())))
                .filter(k -> editDistance(key.toLowerCase(), k.toLowerCase()) <= Math.max(3, key.length() / 3))
                .orElse(null);
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static Map<String, Object> readYaml(Path file) {
        Object root;
        try {
            com.fasterxml.jackson.databind.JsonNode tree = YAML.readTree(Files.readString(file));
            // An empty or comment-only file means "all defaults".
            root = tree == null || tree.isMissingNode() || tree.isNull() ? null : YAML.treeToValue(tree, Object.class);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file not found: " + file);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " line " + e.getLocation().getLineNr();
            throw new ConfigException(file + where + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
        }
        Map<String, Object> flat = new LinkedHashMap<>();
        if (root == null) {
            return flat;
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new ConfigException(file + ": expected a map of config keys at the top level");
        }
        flatten("", map, flat);
        return flat;
    }

    private static void flatten(String prefix, Map<?, ?> map, Map<String, Object> out) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = prefix + e.getKey();
            if (e.getValue() instanceof Map<?, ?> nested) {
                flatten(key + ".", nested, out);
            } else {
                out.put(key, e.getValue());
            }
        }
    }

    /** The text {@code anneal <job> --help} prints after the usage line: every key, its type, default and meaning. */
    public String help() {
        StringBuilder sb = new StringBuilder();
        int width = fields.keySet().stream().mapToInt(String::length).max().orElse(10);
        for (ConfigField f : fields.values()) {
            sb.append(String.format("  %-" + width + "s  %s (default: %s)%n", f.key(), f.typeName(), f.defaultText()));
            sb.append(String.format("  %-" + width + "s    %s%n", "", f.description()));
        }
        return sb.toString();
    }

    /** A Markdown table of every key, for docs/CONFIG.md. */
    public String markdown() {
        List<String> rows = new ArrayList<>();
        rows.add("| key | type | default | description |");
        rows.add("|---|---|---|---|");
        for (ConfigField f : fields.values()) {
            rows.add("| `" + f.key() + "` | " + cell(f.typeName()) + " | `" + cell(f.defaultText()) + "` | "
                    + cell(f.description()) + " |");
        }
        return String.join("\n", rows) + "\n";
    }

    private static String cell(String text) {
        return text.replace("|", "\\|");
    }
}

package dev.anneal.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One configuration key: its dotted name, type, default and the description that {@code --help} and the README's
 * reference show.
 */
public record ConfigField(String key, Type type, Object defaultValue, String description, List<String> allowed) {

    /** The value types a config key can hold. */
    public enum Type { STRING, INT, LONG, DOUBLE, BOOLEAN, STRING_LIST, CHOICE }

    public ConfigField {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(description, "description");
        allowed = List.copyOf(allowed);
        if (type == Type.CHOICE && allowed.isEmpty()) {
            throw new IllegalArgumentException(key + ": a choice needs allowed values");
        }
    }

    public static ConfigField string(String key, String defaultValue, String description) {
        return new ConfigField(key, Type.STRING, defaultValue, description, List.of());
    }

    public static ConfigField integer(String key, int defaultValue, String description) {
        return new ConfigField(key, Type.INT, defaultValue, description, List.of());
    }

    public static ConfigField longValue(String key, long defaultValue, String description) {
        return new ConfigField(key, Type.LONG, defaultValue, description, List.of());
    }

    public static ConfigField decimal(String key, double defaultValue, String description) {
        return new ConfigField(key, Type.DOUBLE, defaultValue, description, List.of());
    }

    public static ConfigField bool(String key, boolean defaultValue, String description) {
        return new ConfigField(key, Type.BOOLEAN, defaultValue, description, List.of());
    }

    public static ConfigField list(String key, List<String> defaultValue, String description) {
        return new ConfigField(key, Type.STRING_LIST, List.copyOf(defaultValue), description, List.of());
    }

    public static ConfigField choice(String key, String defaultValue, List<String> allowed, String description) {
        if (!allowed.contains(defaultValue)) {
            throw new IllegalArgumentException(key + ": default " + defaultValue + " is not one of " + allowed);
        }
        return new ConfigField(key, Type.CHOICE, defaultValue, description, allowed);
    }

    /**
     * Converts a value read from YAML (number, boolean, string or list) or from {@code --set} (always a string) to
     * this field's type; {@code source} names where it came from for the error message.
     */
    Object convert(Object raw, String source) {
        if (raw == null) {
            throw new ConfigException(source + ": " + key + " has no value");
        }
        try {
            return switch (type) {
                case STRING -> scalar(raw, source);
                case INT -> raw instanceof Number n && isWhole(n) ? Math.toIntExact(n.longValue())
                        : Integer.parseInt(scalar(raw, source).trim());
                case LONG -> raw instanceof Number n && isWhole(n) ? n.longValue()
                        : Long.parseLong(scalar(raw, source).trim());
                case DOUBLE -> raw instanceof Number n ? n.doubleValue() : Double.parseDouble(scalar(raw, source).trim());
                case BOOLEAN -> parseBoolean(raw, source);
                case STRING_LIST -> parseList(raw);
                case CHOICE -> parseChoice(scalar(raw, source).trim(), source);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            throw new ConfigException(source + ": " + key + " must be " + typeName() + ", got '" + raw + "'");
        }
    }

    private static boolean isWhole(Number n) {
        return n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || n instanceof java.math.BigInteger;
    }

    private String scalar(Object raw, String source) {
        if (raw instanceof List<?> || raw instanceof java.util.Map<?, ?>) {
            throw new ConfigException(source + ": " + key + " must be " + typeName() + ", got a "
                    + (raw instanceof List<?> ? "list" : "map"));
        }
        return raw.toString();
    }

    private boolean parseBoolean(Object raw, String source) {
        if (raw instanceof Boolean b) {
            return b;
        }
        String s = scalar(raw, source).trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> throw new ConfigException(source + ": " + key + " must be true or false, got '" + raw + "'");
        };
    }

    private static List<String> parseList(Object raw) {
        List<String> out = new ArrayList<>();
        if (raw instanceof List<?> items) {
            for (Object item : items) {
                out.add(String.valueOf(item));
            }
            return List.copyOf(out);
        }
        String s = raw.toString().trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        for (String part : s.split(",")) {
            if (!part.isBlank()) {
                out.add(part.trim());
            }
        }
        return List.copyOf(out);
    }

    private String parseChoice(String value, String source) {
        if (!allowed.contains(value)) {
            throw new ConfigException(source + ": " + key + " must be one of " + String.join(" | ", allowed)
                    + ", got '" + value + "'");
        }
        return value;
    }

    /** The type as the help text shows it. */
    public String typeName() {
        return switch (type) {
            case STRING -> "a string";
            case INT -> "an integer";
            case LONG -> "an integer";
            case DOUBLE -> "a number";
            case BOOLEAN -> "true or false";
            case STRING_LIST -> "a list";
            case CHOICE -> String.join(" | ", allowed);
        };
    }

    /** The default as a user would write it in YAML. */
    public String defaultText() {
        if (defaultValue instanceof List<?> l) {
            return "[" + String.join(", ", l.stream().map(String::valueOf).toList()) + "]";
        }
        // 0.0005, not Double.toString's 5.0E-4 (which it writes below 0.001).
        String s = defaultValue instanceof Double d && d != 0 && Math.abs(d) < 1e-3
                ? java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString() : String.valueOf(defaultValue);
        return s.isEmpty() ? "(none)" : s;
    }
}

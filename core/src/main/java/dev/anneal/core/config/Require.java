package dev.anneal.core.config;

/** Checks that config records run in their compact constructors; each message names the key and the rule. */
public final class Require {
    private Require() {
    }

    public static void positive(String key, long value) {
        if (value <= 0) {
            throw new ConfigException(key + " must be > 0, got " + value);
        }
    }

    public static void positive(String key, double value) {
        if (!(value > 0) || Double.isInfinite(value)) {
            throw new ConfigException(key + " must be > 0, got " + value);
        }
    }

    public static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw new ConfigException(key + " must be >= " + min + ", got " + value);
        }
    }

    public static void nonNegative(String key, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new ConfigException(key + " must be >= 0, got " + value);
        }
    }

    public static void fraction(String key, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new ConfigException(key + " must be in [0, 1), got " + value);
        }
    }

    public static void present(String key, String value, String flag) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(key + " is required: set it in the config file or give " + flag);
        }
    }
}

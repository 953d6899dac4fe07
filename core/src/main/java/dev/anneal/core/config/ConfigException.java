package dev.anneal.core.config;

import dev.anneal.core.AnnealException;

/** A usage or configuration error, reported before any Spark context exists (exit code 2). */
public class ConfigException extends AnnealException {
    public ConfigException(String message) {
        super(EXIT_USAGE, message);
    }
}

package dev.anneal.core;

/** Training produced NaN or infinite loss or parameters (exit code 4). */
public class DivergenceException extends AnnealException {
    public DivergenceException(String message) {
        super(EXIT_DIVERGED, message);
    }
}

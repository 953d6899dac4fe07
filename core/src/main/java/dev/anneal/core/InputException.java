package dev.anneal.core;

/** Missing, empty or malformed input data, or a corrupt or unfit checkpoint (exit code 3). */
public class InputException extends AnnealException {
    public InputException(String message) {
        super(EXIT_BAD_INPUT, message);
    }

    public InputException(String message, Throwable cause) {
        super(EXIT_BAD_INPUT, message, cause);
    }
}

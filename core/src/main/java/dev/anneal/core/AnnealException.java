package dev.anneal.core;

/**
 * An error a user can act on: its message names the file, field or record at fault, and its exit code follows the
 * command-line contract (2 usage or config, 3 bad input or checkpoint, 4 training diverged).
 */
public class AnnealException extends RuntimeException {
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_BAD_INPUT = 3;
    public static final int EXIT_DIVERGED = 4;

    private final int exitCode;

    public AnnealException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public AnnealException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}

package dev.anneal.core.checkpoint;

import dev.anneal.core.InputException;

/** A checkpoint that is missing, damaged, foreign or unfit for the job (exit code 3); the message names the file. */
public class CheckpointException extends InputException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}

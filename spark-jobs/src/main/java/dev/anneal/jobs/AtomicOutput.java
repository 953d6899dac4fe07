package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.config.ConfigException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.UUID;

/**
 * An output directory written whole or not at all: a job writes under a hidden temporary sibling and renames it
 * into place when everything is there, so a failed or killed run leaves no half output under the real name (only a
 * temporary, removed when the run fails in this JVM).
 */
public final class AtomicOutput {
    private final Path target;
    private final Path temp;
    private final FileSystem fs;

    private AtomicOutput(Path target, Path temp, FileSystem fs) {
        this.target = target;
        this.temp = temp;
        this.fs = fs;
    }

    /**
     * Refuses an output with content unless {@code overwrite} (exit 2, before Spark starts) and makes the
     * temporary directory; the old output stays until {@link #commit}.
     */
    public static AtomicOutput begin(String output, boolean overwrite, Configuration hadoop) {
        if (!overwrite && RunDirectory.hasContent(output, hadoop)) {
            throw new ConfigException("output " + output + " exists and is not empty; "
                    + "choose another --output or give --overwrite to replace it");
        }
        Path target = new Path(output);
        try {
            FileSystem fs = target.getFileSystem(hadoop);
            Path parent = target.getParent();
            Path temp = new Path(parent, "." + target.getName() + ".tmp-" + UUID.randomUUID());
            fs.mkdirs(temp);
            return new AtomicOutput(target, temp, fs);
        } catch (IOException e) {
            throw new InputException("cannot prepare output " + output + ": " + e.getMessage(), e);
        }
    }

    /** Where the job writes. */
    /**
     * Runs {@code body} writing under a fresh temporary folder, then moves it into place; on any failure the
     * temporary folder is removed and the old output (if any) stays.
     */
    public static <T> T produce(String output, boolean overwrite, Configuration hadoop,
                                java.util.function.Function<AtomicOutput, T> body) {
        AtomicOutput out = begin(output, overwrite, hadoop);
        try {
            T result = body.apply(out);
            out.commit();
            return result;
        } catch (RuntimeException | Error e) {
            out.abort();
            throw e;
        }
    }

    public Path temp() {
        return temp;
    }

    /** Puts what was written in place of the output (replacing the old one). */
    public Path commit() {
        try {
            if (fs.exists(target)) {
                fs.delete(target, true);
            }
            if (!fs.rename(temp, target)) {
                throw new InputException("cannot rename " + temp + " to " + target);
            }
            return target;
        } catch (IOException e) {
            throw new InputException("cannot move " + temp + " to " + target + ": " + e.getMessage(), e);
        }
    }

    /** Removes the temporary directory after a failure; the old output, if any, is untouched. */
    public void abort() {
        try {
            fs.delete(temp, true);
        } catch (IOException e) {
            // The failure that led here is what the user needs to see; the temporary is hidden and named.
            org.slf4j.LoggerFactory.getLogger(AtomicOutput.class).warn("cannot remove {}: {}", temp, e.getMessage());
        }
    }
}

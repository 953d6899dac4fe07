package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.config.ConfigException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** A job's output directory: refused when it exists with content unless the user asked to overwrite it. */
public final class RunDirectory {
    private RunDirectory() {
    }

    /** Whether {@code output} exists and holds something. */
    public static boolean hasContent(String output, Configuration hadoopConf) {
        Path path = new Path(output);
        try {
            FileSystem fs = path.getFileSystem(hadoopConf);
            return fs.exists(path) && (!fs.getFileStatus(path).isDirectory() || fs.listStatus(path).length > 0);
        } catch (IOException e) {
            throw new InputException("cannot read output " + output + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code output} ready for a new run: an error (exit 2) when it has content and {@code overwrite} is
     * false, else emptied.
     */
    public static void prepare(String output, boolean overwrite, Configuration hadoopConf) {
        Path path = new Path(output);
        try {
            FileSystem fs = path.getFileSystem(hadoopConf);
            if (hasContent(output, hadoopConf)) {
                if (!overwrite) {
                    throw new ConfigException("output " + output + " exists and is not empty; "
                            + "choose another --output or give --overwrite to replace it");
                }
                fs.delete(path, true);
            }
            fs.mkdirs(path);
        } catch (IOException e) {
            throw new InputException("cannot prepare output " + output + ": " + e.getMessage(), e);
        }
    }

    /** Writes a small file through the Hadoop FileSystem, replacing it. */
    public static void writeString(Path path, String content, Configuration hadoopConf) {
        try {
            // Written beside, then renamed over the old file: a reader never sees half of it.
            FileSystem fs = path.getFileSystem(hadoopConf);
            Path temp = new Path(path.getParent(), "." + path.getName() + ".tmp");
            try (var out = fs.create(temp, true)) {
                out.write(content.getBytes(StandardCharsets.UTF_8));
            }
            FileContext.getFileContext(path.toUri(), hadoopConf).rename(temp, path, Options.Rename.OVERWRITE);
        } catch (IOException e) {
            throw new InputException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }
}

package dev.anneal.core.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * Small files replaced whole through the Hadoop FileSystem API (a checkpoint's {@code LATEST}, a dataset's manifest,
 * the pipeline's state): the new content is written beside the file and renamed over it, so that a reader, or a
 * rerun after a kill, finds the old content or the new one, never a part.
 */
public final class AtomicFiles {
    /** What every temporary name ends with; {@link #temporarySibling} names are {@code .<name>.<uuid>.tmp}. */
    public static final String TEMPORARY_SUFFIX = ".tmp";

    private AtomicFiles() {
    }

    /** A hidden sibling name for writing {@code path}'s content before it is renamed into place. */
    public static Path temporarySibling(Path path) {
        return new Path(path.getParent(), "." + path.getName() + "." + UUID.randomUUID() + TEMPORARY_SUFFIX);
    }

    /** Replaces {@code target} with {@code content}, written first under a fresh {@link #temporarySibling}. */
    public static void replace(Path target, byte[] content, Configuration conf) throws IOException {
        Path tmp = temporarySibling(target);
        try {
            replace(target, tmp, content, conf);
        } finally {
            FileSystem fs = tmp.getFileSystem(conf);
            if (fs.exists(tmp)) {
                fs.delete(tmp, false);
            }
        }
    }

    /**
     * Replaces {@code target} with {@code content}, written first as {@code tmp} (which must not exist). On a local
     * disk, Hadoop's overwriting rename deletes the target first and renames the {@code .crc} sidecar in a second
     * step, so a kill in either gap would leave the file missing or failing its checksum: the file is written without
     * a sidecar (a stale one is removed) and moved over the target with one {@code rename(2)}. On HDFS and other
     * filesystems, {@code FileSystem.rename} will not replace a file; {@code FileContext}'s overwriting rename does,
     * in one namenode operation on HDFS.
     */
    public static void replace(Path target, Path tmp, byte[] content, Configuration conf) throws IOException {
        FileSystem fs = target.getFileSystem(conf);
        if ("file".equals(fs.getScheme())) {
            FileSystem raw = fs instanceof ChecksumFileSystem checksummed ? checksummed.getRawFileSystem() : fs;
            try (FSDataOutputStream out = raw.create(tmp, false)) {
                out.write(content);
            }
            raw.delete(new Path(target.getParent(), "." + target.getName() + ".crc"), false);
            Files.move(Paths.get(raw.makeQualified(tmp).toUri()), Paths.get(raw.makeQualified(target).toUri()),
                    StandardCopyOption.ATOMIC_MOVE);
        } else {
            try (FSDataOutputStream out = fs.create(tmp, false)) {
                out.write(content);
            }
            FileContext.getFileContext(target.toUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
        }
    }
}

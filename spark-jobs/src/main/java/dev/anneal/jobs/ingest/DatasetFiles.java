package dev.anneal.jobs.ingest;

import dev.anneal.core.InputException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/** The files of a dataset directory: reading and atomically replacing the manifest, and describing shards. */
public final class DatasetFiles {
    private DatasetFiles() {
    }

    /** Whether {@code dir} holds a dataset, i.e. a {@code manifest.json}. */
    public static boolean isDataset(String dir, Configuration conf) {
        Path manifest = new Path(dir, DatasetManifest.FILE);
        try {
            return manifest.getFileSystem(conf).isFile(manifest);
        } catch (IOException e) {
            return false;
        }
    }

    public static DatasetManifest manifest(String dir, Configuration conf) {
        Path p = new Path(dir, DatasetManifest.FILE);
        return DatasetManifest.fromJson(read(p, conf), p.toString());
    }

    public static CharVocabulary vocabulary(String dir, DatasetManifest manifest, Configuration conf) {
        Path p = new Path(dir, DatasetManifest.VOCABULARY_FILE);
        CharVocabulary v = CharVocabulary.fromJson(read(p, conf), p.toString());
        if (manifest.vocabulary() == null || !v.sha256().equals(manifest.vocabulary().sha256())) {
            throw new InputException(p + ": sha256 " + v.sha256() + " is not the vocabulary the manifest names ("
                    + (manifest.vocabulary() == null ? "none" : manifest.vocabulary().sha256()) + ")");
        }
        return v;
    }

    static byte[] read(Path p, Configuration conf) {
        try (InputStream in = p.getFileSystem(conf).open(p)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new InputException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /**
     * Replaces {@code target} with {@code content} so that a reader finds the old file or the new one, never a part:
     * written beside it, then renamed over it (rename(2) on a local disk, where Hadoop's overwriting rename deletes
     * first; one namenode operation on HDFS).
     */
    static void replaceAtomically(Path target, byte[] content, Configuration conf) throws IOException {
        FileSystem fs = target.getFileSystem(conf);
        Path tmp = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
        if ("file".equals(fs.getScheme())) {
            FileSystem raw = fs instanceof ChecksumFileSystem c ? c.getRawFileSystem() : fs;
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

package dev.anneal.jobs.ingest;

import dev.anneal.core.InputException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** The files of a dataset directory: whether it is one, its manifest and its vocabulary. */
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
}

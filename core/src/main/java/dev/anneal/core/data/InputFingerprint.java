package dev.anneal.core.data;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an evaluation read, in a form two evaluations can be compared by: the input's qualified URI, which records of
 * it were selected, and the SHA-256 of the list of its files with each one's length and modification time. Listing
 * is cheap (no file is read) and any rewrite, append, added or removed file changes it; a byte-identical copy under
 * another path or with new times counts as other data, which costs one evaluation more, never a wrong comparison.
 *
 * @param input     the qualified URI
 * @param selection which records of the input: e.g. {@code all records} or {@code split test}
 * @param sha256    hex digest over the input, the selection and every file's relative path, length and time
 * @param files     how many files were listed
 * @param bytes     their total length
 */
public record InputFingerprint(String input, String selection, String sha256, long files, long bytes) {

    /**
     * Lists {@code input} (a file, or a directory recursively, leaving out names starting with {@code .} or
     * {@code _}, as Spark's readers do) and digests it with {@code selection}. A missing or empty input is an error
     * naming it.
     */
    public static InputFingerprint of(String input, String selection, Configuration conf) {
        Path path = new Path(input);
        try {
            FileSystem fs = path.getFileSystem(conf);
            Path root = fs.makeQualified(path);
            if (!fs.exists(root)) {
                throw new InputException(input + ": no such file or directory");
            }
            FileStatus top = fs.getFileStatus(root);
            List<String> lines = new ArrayList<>();
            long bytes = 0;
            if (top.isFile()) {
                lines.add(root.getName() + "\t" + top.getLen() + "\t" + top.getModificationTime());
                bytes = top.getLen();
            } else {
                String prefix = root.toUri().getPath().replaceAll("/+$", "") + "/";
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    String rel = f.getPath().toUri().getPath().substring(prefix.length());
                    if (hidden(rel)) {
                        continue;
                    }
                    lines.add(rel + "\t" + f.getLen() + "\t" + f.getModificationTime());
                    bytes += f.getLen();
                }
            }
            if (lines.isEmpty()) {
                throw new InputException(input + ": no files to evaluate on");
            }
            lines.sort(null);
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((root + "\n" + selection + "\n").getBytes(StandardCharsets.UTF_8));
            for (String line : lines) {
                sha.update((line + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return new InputFingerprint(root.toString(), selection, HexFormat.of().formatHex(sha.digest()),
                    lines.size(), bytes);
        } catch (IOException e) {
            throw new InputException("cannot list " + input + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean hidden(String relative) {
        for (String part : relative.split("/")) {
            if (part.startsWith(".") || part.startsWith("_")) {
                return true;
            }
        }
        return false;
    }

    /** As {@code metrics.json}, {@code version.json} and the promotion log hold it. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input", input);
        m.put("selection", selection);
        m.put("sha256", sha256);
        m.put("files", files);
        m.put("bytes", bytes);
        return m;
    }
}

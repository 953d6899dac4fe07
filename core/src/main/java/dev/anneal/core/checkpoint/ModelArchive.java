package dev.anneal.core.checkpoint;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Checks a checkpoint's {@code model.zip} before DL4J reads it: only the entries Anneal writes (configuration, parameters,
 * updater state), each once and under a size cap. DL4J's loader would run Java deserialization on other entries
 * ({@code preprocessor.bin}, {@code objects/*}), so a file that carries them is refused unread; and DL4J then reads
 * it under {@link DeserializationFilter}, so should an entry get past the list, its objects are still not
 * deserialized.
 */
final class ModelArchive {
    /** Entry name → the most bytes it may expand to. */
    private static final Map<String, Long> ALLOWED = Map.of(
            "configuration.json", 64L << 20,
            "coefficients.bin", 16L << 30,
            "updaterState.bin", 32L << 30);

    private ModelArchive() {
    }

    /** Checks {@code model} (see {@link #check}), then has DL4J read it with Java deserialization refused. */
    static ComputationGraph load(FileSystem fs, Path model, boolean loadUpdater) throws IOException {
        check(fs, model);
        try (InputStream in = fs.open(model)) {
            return restoreRefusingDeserialization(in, loadUpdater, model);
        }
    }

    /**
     * DL4J's loader under the deserialization filter, without the allow-list: {@link #load} is the way in; this is
     * separate so that a test can hand it what the allow-list would have stopped.
     */
    static ComputationGraph restoreRefusingDeserialization(InputStream in, boolean loadUpdater, Path model)
            throws IOException {
        return DeserializationFilter.refuseAllWhile(model.toString(), () -> {
            try {
                return ModelSerializer.restoreComputationGraph(in, loadUpdater);
            } catch (RuntimeException e) {
                throw new CheckpointException(model + ": not a DL4J ComputationGraph: " + e, e);
            }
        });
    }

    static void check(FileSystem fs, Path model) throws IOException {
        Set<String> seen = new HashSet<>();
        try (InputStream raw = fs.open(model); ZipInputStream zip = new ZipInputStream(raw)) {
            byte[] buf = new byte[1 << 16];
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                String name = e.getName();
                if (name.startsWith("/") || name.startsWith("\\") || name.contains("..") || name.contains(":")) {
                    throw new CheckpointException(model + ": entry name '" + name + "' points outside the archive "
                            + "(path traversal); refusing to load it");
                }
                Long cap = ALLOWED.get(name);
                if (cap == null) {
                    throw new CheckpointException(model + ": holds entry '" + name + "', which Anneal does not write; "
                            + "refusing to load it (allowed: " + ALLOWED.keySet() + ")");
                }
                if (!seen.add(name)) {
                    throw new CheckpointException(model + ": entry '" + name + "' appears twice");
                }
                long total = 0;
                for (int n = zip.read(buf); n >= 0; n = zip.read(buf)) {
                    total += n;
                    if (total > cap) {
                        throw new CheckpointException(model + ": entry '" + name + "' expands past " + cap
                                + " bytes; refusing it");
                    }
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw new CheckpointException(model + ": not a valid zip archive (" + e.getMessage() + ")", e);
        }
        for (String required : new String[] {"configuration.json", "coefficients.bin"}) {
            if (!seen.contains(required)) {
                throw new CheckpointException(model + ": has no '" + required + "' entry");
            }
        }
    }
}

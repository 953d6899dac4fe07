package dev.anneal.jobs;

import dev.anneal.core.data.DatasetManifest;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.conf.Configuration;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which data an epoch reads, kept in a checkpoint's cursor ({@code cursor.data}) next to the position in the epoch.
 * For an ingested dataset it is the list of shards the manifest named (path relative to the dataset) and a sha256
 * over their paths and contents' sha256; for raw text, the input path alone. A resume on the same shards continues at
 * the cursor's position; when shards were added or removed since (a new slice ingested into the dataset), the
 * epoch's minibatch order no longer matches and the epoch starts over, saying which shards changed.
 */
public final class CorpusIdentity {
    static final String INPUT = "input";
    static final String SHARDS = "shards";
    static final String SHA256 = "sha256";

    private CorpusIdentity() {
    }

    /** The identity of {@code input}: a dataset directory's shards, or the raw input's path. */
    public static Map<String, Object> of(String input, Configuration conf) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(INPUT, input);
        if (DatasetFiles.isDataset(input, conf)) {
            DatasetManifest manifest = DatasetFiles.manifest(input, conf);
            List<String> shards = new ArrayList<>();
            MessageDigest digest = sha256();
            for (DatasetManifest.Shard s : manifest.shards()) {
                shards.add(s.path());
                digest.update((s.path() + '\t' + s.sha256() + '\n').getBytes(StandardCharsets.UTF_8));
            }
            m.put(SHARDS, shards);
            m.put(SHA256, HexFormat.of().formatHex(digest.digest()));
        }
        return m;
    }

    /**
     * What differs between the data a checkpoint's epoch read ({@code recorded}; empty for checkpoints from before
     * the cursor named it) and the data of this run, or empty when nothing that changes the epoch's order did.
     */
    @SuppressWarnings("unchecked")
    public static Optional<String> change(Map<String, Object> recorded, Map<String, Object> now) {
        if (recorded == null || recorded.isEmpty()) {
            return Optional.empty();
        }
        Object before = recorded.get(SHA256);
        Object after = now.get(SHA256);
        if (before == null && after == null) {
            return Optional.empty();
        }
        if (before != null && before.equals(after)) {
            return Optional.empty();
        }
        if (before == null || after == null) {
            return Optional.of("the checkpoint read " + describe(recorded) + ", this run reads " + describe(now));
        }
        Set<String> old = new LinkedHashSet<>((List<String>) recorded.get(SHARDS));
        Set<String> current = new LinkedHashSet<>((List<String>) now.get(SHARDS));
        List<String> added = current.stream().filter(s -> !old.contains(s)).toList();
        List<String> removed = old.stream().filter(s -> !current.contains(s)).toList();
        StringBuilder sb = new StringBuilder("the dataset's shards changed since the checkpoint (")
                .append(old.size()).append(" then, ").append(current.size()).append(" now");
        if (!added.isEmpty()) {
            sb.append("; added: ").append(abbreviated(added));
        }
        if (!removed.isEmpty()) {
            sb.append("; removed: ").append(abbreviated(removed));
        }
        if (added.isEmpty() && removed.isEmpty()) {
            sb.append("; the same names, other contents");
        }
        return Optional.of(sb.append(')').toString());
    }

    private static String describe(Map<String, Object> identity) {
        return identity.containsKey(SHARDS) ? "the dataset " + identity.get(INPUT) : "raw input " + identity.get(INPUT);
    }

    private static String abbreviated(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more";
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

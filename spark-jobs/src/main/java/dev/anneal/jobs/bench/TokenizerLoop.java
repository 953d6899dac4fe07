package dev.anneal.jobs.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.ingest.OneThreadShards;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The yardstick of the ingest benchmark: one thread that does the least ingest must do with the same files: read,
 * decode UTF-8 strictly, take the text (each line of a text file; the {@code text} field of a SpamAssassin JSON
 * file), count characters, build the vocabulary and encode every record into ids. No Spark, no Parquet.
 *
 * <p>{@code TokenizerLoop [--shards N] text|spamassassin ROOT GLOB [ROOT GLOB ...]} prints bytes, seconds and MB/s
 * of the best of three passes, and of the first (in the fresh JVM, as a cold ingest runs). With {@code --shards N}
 * the loop also does the rest of ingest's per-record work in the same thread ({@link OneThreadShards}: ids, shard
 * and split hashes, N sorted Parquet shards with their sha256, written to a temporary directory): everything the
 * dataset format costs, without Spark.
 */
public final class TokenizerLoop {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerLoop() {
    }

    public static void main(String[] args) throws IOException {
        int shards = 0;
        int a = 0;
        if (args[0].equals("--shards")) {
            shards = Integer.parseInt(args[1]);
            a = 2;
        }
        String kind = args[a];
        List<Path> files = new ArrayList<>();
        for (int i = a + 1; i + 1 < args.length; i += 2) {
            Path root = Path.of(args[i]);
            PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + args[i + 1]);
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(Files::isRegularFile).filter(p -> m.matches(root.relativize(p))).sorted()
                        .forEach(files::add);
            }
        }
        long bytes = 0;
        for (Path f : files) {
            bytes += Files.size(f);
        }
        double best = Double.MAX_VALUE;
        double first = 0;
        long checksum = 0;
        Path scratch = shards > 0 ? Files.createTempDirectory("tokenizer-loop") : null;
        for (int pass = 0; pass < 3; pass++) {
            long t0 = System.nanoTime();
            checksum = run(kind, files, shards, scratch);
            double seconds = (System.nanoTime() - t0) / 1e9;
            first = pass == 0 ? seconds : first;
            best = Math.min(best, seconds);
        }
        // The first pass runs in a fresh JVM whose JIT has compiled nothing yet, as an ingest command's does; the
        // best is the loop's steady state.
        if (scratch != null) {
            try (Stream<Path> s = Files.list(scratch)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(scratch);
        }
        System.out.printf("tokenizer loop (%s%s): %d files, %d bytes, best of 3 passes %.2f s, %.1f MB/s; first pass "
                + "(fresh JVM) %.2f s, %.1f MB/s (checksum %d)%n", kind,
                shards > 0 ? ", with " + shards + " Parquet shards" : "", files.size(), bytes, best,
                bytes / 1e6 / best, first, bytes / 1e6 / first, checksum);
    }

    private static long run(String kind, List<Path> files, int shardCount, Path scratch) throws IOException {
        List<String> records = new ArrayList<>();
        long[] counts = new long[1 << 16];
        Map<Integer, Long> other = new HashMap<>();
        // Two passes as ingest makes them: count for the vocabulary, then encode with it.
        for (int pass = 0; pass < 2; pass++) {
            CharVocabulary vocabulary = pass == 0 ? null : vocabulary(counts, other);
            // conf/ingest-text.yaml's seed and split fractions.
            OneThreadShards shards = pass == 1 && shardCount > 0
                    ? new OneThreadShards(shardCount, 42, 0.05, 0.0) : null;
            long sum = 0;
            for (Path f : files) {
                byte[] raw;
                try (InputStream in = f.toString().endsWith(".gz")
                        ? new GZIPInputStream(Files.newInputStream(f)) : Files.newInputStream(f)) {
                    raw = in.readAllBytes();
                }
                String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(raw)).toString();
                records.clear();
                if (kind.equals("spamassassin")) {
                    JsonNode node = JSON.readTree(text);
                    records.add(node.path("text").asText());
                } else {
                    for (String line : text.split("\n")) {
                        if (!line.isBlank()) {
                            records.add(line);
                        }
                    }
                }
                long offset = 0;
                for (String r : records) {
                    if (vocabulary == null) {
                        for (int i = 0; i < r.length(); ) {
                            int cp = r.codePointAt(i);
                            if (cp < counts.length) {
                                counts[cp]++;
                            } else {
                                other.merge(cp, 1L, Long::sum);
                            }
                            i += Character.charCount(cp);
                        }
                    } else {
                        int[] ids = vocabulary.encode(r);
                        sum += ids.length > 0 ? ids[0] + ids.length : 0;
                        if (shards != null) {
                            shards.add(f.toString(), offset, r, ids);
                        }
                        offset += r.length() + 1;
                    }
                }
            }
            if (pass == 1) {
                if (shards != null) {
                    sum += shards.write(new org.apache.hadoop.fs.Path(scratch.toUri()), new Configuration());
                }
                return sum;
            }
        }
        throw new IllegalStateException();
    }

    private static CharVocabulary vocabulary(long[] counts, Map<Integer, Long> other) {
        Map<Integer, Long> all = new HashMap<>(other);
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0) {
                all.put(i, counts[i]);
            }
        }
        return CharVocabulary.fromCounts(all, 160);
    }
}

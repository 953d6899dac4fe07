package dev.anneal.core.data;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.anneal.core.InputException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code manifest.json} of an Anneal dataset directory: what the Parquet shards hold, where they came from and how
 * many records were good and bad. Each ingest appends a slice; the shards of earlier slices are never rewritten.
 *
 * @param schemaVersion      the dataset format; readers refuse versions they do not know
 * @param kind               text, labeled-text or image
 * @param createdAt          when the first slice was ingested (ISO-8601, UTC)
 * @param updatedAt          when the last slice was ingested
 * @param seed               the seed of the shard assignment
 * @param vocabulary         sha256 and size of {@code vocab.json} (absent for images)
 * @param labels             the declared label values; a stored label is an index into this list (empty: unlabeled)
 * @param image              rows and columns of an image dataset (absent for text)
 * @param splits             validation and test fractions, by a hash of the record id
 * @param slices             one entry per ingest
 * @param shards             every shard, in order
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record DatasetManifest(int schemaVersion, String kind, String createdAt, String updatedAt, long seed,
                              Vocabulary vocabulary, List<String> labels, Image image, Splits splits,
                              List<Slice> slices, List<Shard> shards) {
    public static final int SCHEMA_VERSION = 1;
    public static final String FILE = "manifest.json";
    public static final String VOCABULARY_FILE = "vocab.json";
    public static final String SHARDS = "shards";
    public static final String QUARANTINE = "quarantine";
    public static final List<String> KINDS = List.of("text", "labeled-text", "image");

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** The vocabulary a text dataset's token ids refer to. */
    public record Vocabulary(String sha256, int size) {
    }

    /** The shape of every image of an image dataset. */
    public record Image(int rows, int cols) {
    }

    /** The split fractions records were assigned with. */
    public record Splits(double validationFraction, double testFraction) {
    }

    /**
     * One ingest.
     *
     * @param index        0 for the first ingest, then 1, 2, ...
     * @param createdAt    when it ran
     * @param sourceKind   the raw layout (text, jsonl, parquet, spamassassin, idx)
     * @param sources      the input URIs
     * @param inputBytes   bytes of the input files
     * @param goodRecords  records written to shards (a split over-long record counts once per piece)
     * @param badRecords   records written to the slice's quarantine
     * @param badByReason  bad records by reason
     * @param blankLines   blank lines of text files: layout between paragraphs, not records
     * @param tokens       characters (tokens) written, 0 for images
     * @param oovRate      share of the slice's characters outside the vocabulary
     * @param quarantine   the slice's quarantine directory, relative to the dataset; empty when nothing was bad
     * @param overlong     text records longer than {@code record.maxLength} that were kept, truncated or split (those
     *                     quarantined are bad records); absent for images and for manifests written before it existed
     */
    public record Slice(int index, String createdAt, String sourceKind, List<String> sources, long inputBytes,
                        long goodRecords, long badRecords, Map<String, Long> badByReason, long blankLines,
                        long tokens, double oovRate, String quarantine, Overlong overlong) {
        public Slice {
            sources = List.copyOf(sources);
            badByReason = Map.copyOf(badByReason);
        }
    }

    /**
     * The over-long text records a slice kept: nothing of them is in the quarantine, so these counts are where a
     * truncation's loss shows.
     *
     * @param truncated     records cut to {@code record.maxLength} characters
     * @param charactersCut characters those cuts dropped
     * @param split         records split into pieces of at most {@code record.maxLength} characters
     * @param pieces        the pieces they became, each a good record of its own
     */
    public record Overlong(long truncated, long charactersCut, long split, long pieces) {
    }

    /**
     * One Parquet file of records.
     *
     * @param path   relative to the dataset directory
     * @param slice  the ingest that wrote it
     * @param rows   records in it
     * @param bytes  its size
     * @param sha256 of its bytes
     */
    public record Shard(String path, int slice, long rows, long bytes, String sha256) {
    }

    public DatasetManifest {
        if (schemaVersion != SCHEMA_VERSION) {
            throw new IllegalArgumentException("dataset schema version " + schemaVersion + " is not supported (this "
                    + "version of Anneal reads " + SCHEMA_VERSION + ")");
        }
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("dataset kind must be one of " + KINDS + ", got '" + kind + "'");
        }
        Objects.requireNonNull(splits, "splits");
        labels = List.copyOf(labels);
        slices = List.copyOf(slices);
        shards = List.copyOf(shards);
    }

    public long goodRecords() {
        return slices.stream().mapToLong(Slice::goodRecords).sum();
    }

    public long badRecords() {
        return slices.stream().mapToLong(Slice::badRecords).sum();
    }

    public long rows() {
        return shards.stream().mapToLong(Shard::rows).sum();
    }

    /** This manifest with one more slice and its shards. */
    public DatasetManifest append(Slice slice, List<Shard> newShards, Vocabulary newVocabulary) {
        List<Slice> s = new ArrayList<>(slices);
        s.add(slice);
        List<Shard> sh = new ArrayList<>(shards);
        sh.addAll(newShards);
        return new DatasetManifest(schemaVersion, kind, createdAt, slice.createdAt(), seed, newVocabulary, labels,
                image, splits, s, sh);
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses a manifest; {@code source} names the file in the error of a malformed one (exit 3). */
    public static DatasetManifest fromJson(byte[] json, String source) {
        try {
            return JSON.readValue(json, DatasetManifest.class);
        } catch (IOException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            String why = root instanceof IllegalArgumentException ? root.getMessage()
                    : e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new InputException(source + ": not a valid dataset manifest: " + why, e);
        }
    }
}

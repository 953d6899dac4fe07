package dev.anneal.core.config;

import java.util.List;

/**
 * The ingest job: raw text, labeled records or images turned into an Anneal dataset directory (Parquet shards,
 * {@code vocab.json}, {@code manifest.json}, {@code quarantine/}), or a new slice appended to one.
 *
 * @param input              raw data: a file, directory or glob, any Hadoop FileSystem URI
 * @param output             the dataset directory; a directory that holds a dataset gets the input as a new slice
 * @param master             Spark master URL; empty means the one spark-submit set, else {@code local[*]}
 * @param seed               decides which shard a record goes to
 * @param source             the raw layout: text, jsonl, parquet, spamassassin or idx
 * @param textField          the text field of jsonl and parquet records
 * @param emailText          what of a spamassassin e-mail is stored: the whole raw message, or its subject and body
 * @param labelField         the label field of jsonl and parquet records; empty for unlabeled text
 * @param idField            a field that identifies a record; empty means a hash of the record's content
 * @param labels             the declared label values; a record's stored label is the value's index here
 * @param maxRecordLength    characters a text record may hold
 * @param overlong           what happens to a longer record: split, truncate or quarantine
 * @param vocabularySize     distinct characters kept, most frequent first, besides padding and unknown
 * @param vocabularyFrozen   when appending: fail (exit 3) rather than append when the out-of-vocabulary rate is high
 * @param maxOovRate         the out-of-vocabulary share of a new slice's characters a frozen vocabulary accepts
 * @param shardMegabytes     target size of a shard's token data (4 bytes a token, a byte a pixel) before compression
 * @param maxBadFraction     the share of bad records above which the job fails (exit 3) after writing quarantine/
 * @param validationFraction share of records (by a hash of their id) in the validation split
 * @param testFraction       share of records (by a hash of their id) in the test split
 * @param testFiles          file-name prefixes whose records all go to the test split (a dataset's own test set,
 *                           such as MNIST's {@code t10k-} files); empty for none
 * @param partitions         Spark partitions to read the input into; 0 means Spark's default parallelism
 */
public record IngestConfig(String input, String output, String master, long seed, String source, String textField,
                           String emailText, String labelField, String idField, List<String> labels, int maxRecordLength,
                           String overlong, int vocabularySize, boolean vocabularyFrozen, double maxOovRate,
                           double shardMegabytes, double maxBadFraction, double validationFraction,
                           double testFraction, List<String> testFiles, int partitions) {
    public static final List<String> SOURCES = List.of("text", "jsonl", "parquet", "spamassassin", "idx");
    public static final List<String> OVERLONG = List.of("split", "truncate", "quarantine");
    public static final List<String> EMAIL_TEXT = List.of("whole", "subject-body");

    public IngestConfig {
        Require.present("input", input, "--input");
        Require.present("output", output, "--output");
        if (!SOURCES.contains(source)) {
            throw new ConfigException("source must be one of " + SOURCES + ", got '" + source + "'");
        }
        if (!OVERLONG.contains(overlong)) {
            throw new ConfigException("record.overlong must be one of " + OVERLONG + ", got '" + overlong + "'");
        }
        Require.present("textField", textField, "--set textField=NAME");
        if (!EMAIL_TEXT.contains(emailText)) {
            throw new ConfigException("email.text must be one of " + EMAIL_TEXT + ", got '" + emailText + "'");
        }
        if (!emailText.equals("whole") && !source.equals("spamassassin")) {
            throw new ConfigException("email.text applies to source spamassassin only, got source '" + source
                    + "' with email.text '" + emailText + "'");
        }
        labels = List.copyOf(labels);
        if (labels.isEmpty()) {
            throw new ConfigException("labels must name at least one label value");
        }
        if (labels.stream().distinct().count() != labels.size()) {
            throw new ConfigException("labels must not repeat a value, got " + labels);
        }
        Require.positive("record.maxLength", maxRecordLength);
        Require.positive("vocabulary.size", vocabularySize);
        if (!(maxOovRate >= 0 && maxOovRate <= 1)) {
            throw new ConfigException("vocabulary.maxOovRate must be in [0, 1], got " + maxOovRate);
        }
        Require.positive("shard.targetMegabytes", shardMegabytes);
        if (!(maxBadFraction >= 0 && maxBadFraction <= 1)) {
            throw new ConfigException("maxBadFraction must be in [0, 1], got " + maxBadFraction);
        }
        Require.fraction("split.validationFraction", validationFraction);
        Require.fraction("split.testFraction", testFraction);
        if (validationFraction + testFraction >= 1) {
            throw new ConfigException("split.validationFraction + split.testFraction must be < 1, got "
                    + (validationFraction + testFraction));
        }
        testFiles = List.copyOf(testFiles);
        if (testFiles.stream().anyMatch(p -> p.isBlank() || p.contains("/"))) {
            throw new ConfigException("split.testFiles must be file-name prefixes (no '/', not blank), got "
                    + testFiles);
        }
        Require.atLeast("partitions", partitions, 0);
    }

    /** Whether records of file {@code source} (a path or URI) all belong to the test split. */
    public static boolean isTestFile(String source, List<String> testFiles) {
        String name = source.substring(source.lastIndexOf('/') + 1);
        return testFiles.stream().anyMatch(name::startsWith);
    }

    /** Whether records carry a label: always for spamassassin and idx, else when a label field is named. */
    public boolean labeled() {
        return source.equals("spamassassin") || source.equals("idx") || !labelField.isBlank();
    }

    /** The dataset kind the manifest records: text, labeled-text or image. */
    public String kind() {
        return source.equals("idx") ? "image" : labeled() ? "labeled-text" : "text";
    }

    public static final ConfigSchema<IngestConfig> SCHEMA = new ConfigSchema<>("ingest", List.of(
            ConfigField.string("input", "",
                    "Raw data: a file, directory or glob; any Hadoop URI. text: .txt/.gz files; jsonl: JSON Lines; "
                            + "parquet: Parquet files; spamassassin: the <group>/<name>.json tree; idx: a directory "
                            + "with *-images-idx3-ubyte[.gz] and *-labels-idx1-ubyte[.gz]."),
            ConfigField.string("output", "",
                    "Dataset directory; when it already holds a dataset, the input is appended to it as a new slice."),
            ConfigField.string("spark.master", "", "Spark master URL; empty = the one spark-submit set, else local[*]."),
            ConfigField.longValue("seed", 42, "Seed of the shard assignment."),
            ConfigField.choice("source", "text", SOURCES, "Layout of the raw data."),
            ConfigField.string("textField", "text", "Text field of jsonl and parquet records."),
            ConfigField.choice("email.text", "whole", EMAIL_TEXT,
                    "spamassassin: what of each raw e-mail is stored. whole = the message as it is, routing headers "
                            + "first; subject-body = the Subject line, a blank line, then the body (not MIME-decoded), "
                            + "so that a model reading a record's first characters reads its content."),
            ConfigField.string("labelField", "",
                    "Label field of jsonl and parquet records; empty = unlabeled. spamassassin labels spam-* "
                            + "groups 1, others 0; idx reads the labels file."),
            ConfigField.string("idField", "",
                    "Field that identifies a record (jsonl, parquet); empty = a SHA-256 of the record's content."),
            ConfigField.list("labels", List.of("0", "1"),
                    "Declared label values; a record with another label is quarantined. Stored as the value's "
                            + "index in this list."),
            ConfigField.integer("record.maxLength", 20000, "Characters a text record may hold."),
            ConfigField.choice("record.overlong", "split", OVERLONG,
                    "A longer record: split into pieces of record.maxLength, truncated, or quarantined."),
            ConfigField.integer("vocabulary.size", 160,
                    "Distinct characters kept, most frequent first (ties by code point), besides <pad> and <unk>."),
            ConfigField.bool("vocabulary.frozen", true,
                    "When appending a slice: fail (exit 3) if its out-of-vocabulary rate passes vocabulary.maxOovRate; "
                            + "false = append anyway and record the rate."),
            ConfigField.decimal("vocabulary.maxOovRate", 0.01,
                    "Share of a new slice's characters outside the existing vocabulary that a frozen vocabulary "
                            + "accepts."),
            ConfigField.decimal("shard.targetMegabytes", 32,
                    "Target size of one shard's data before compression (4 bytes a token, 1 byte a pixel)."),
            ConfigField.decimal("maxBadFraction", 0.01,
                    "Share of bad records (written to quarantine/) above which the job fails with exit 3."),
            ConfigField.decimal("split.validationFraction", 0.05,
                    "Share of records in the validation split, by a SHA-256 of the record id."),
            ConfigField.decimal("split.testFraction", 0.05,
                    "Share of records in the test split, by a SHA-256 of the record id."),
            ConfigField.list("split.testFiles", List.of(),
                    "File-name prefixes whose records all go to the test split, e.g. [t10k-] for the standard "
                            + "MNIST / Fashion-MNIST test set; the other files' records are split by hash as above."),
            ConfigField.integer("partitions", 0, "Spark partitions to read the input into; 0 = default parallelism.")),
            IngestConfig::from);

    private static IngestConfig from(ConfigValues v) {
        return new IngestConfig(v.string("input"), v.string("output"), v.string("spark.master"), v.longValue("seed"),
                v.string("source"), v.string("textField"), v.string("email.text"), v.string("labelField"), v.string("idField"),
                v.list("labels"), v.integer("record.maxLength"), v.string("record.overlong"),
                v.integer("vocabulary.size"), v.bool("vocabulary.frozen"), v.decimal("vocabulary.maxOovRate"),
                v.decimal("shard.targetMegabytes"), v.decimal("maxBadFraction"),
                v.decimal("split.validationFraction"), v.decimal("split.testFraction"), v.list("split.testFiles"),
                v.integer("partitions"));
    }
}

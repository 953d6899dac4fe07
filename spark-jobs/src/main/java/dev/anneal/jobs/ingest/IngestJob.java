package dev.anneal.jobs.ingest;

import dev.anneal.core.InputException;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.io.AtomicFiles;
import dev.anneal.core.task.StableSplit;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.RunDirectory;
import dev.anneal.jobs.SparkSetup;
import dev.anneal.jobs.data.TextCorpus;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Turns raw data into an Anneal dataset directory, or appends it to one as a new slice: reads and checks every record
 * on the executors, writes bad ones to {@code quarantine/slice-<n>/}, builds the vocabulary from distributed counts
 * (first slice) or measures the slice against the existing one, writes balanced Parquet shards to
 * {@code shards/slice-<n>/} and replaces {@code manifest.json} atomically. The driver sees counts, never records.
 */
public final class IngestJob {
    private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);
    static final StructType TEXT_SCHEMA = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("source", DataTypes.StringType, false)
            .add("offset", DataTypes.LongType, false)
            .add("label", DataTypes.IntegerType, true)
            .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
    static final StructType IMAGE_SCHEMA = new StructType()
            .add("id", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("source", DataTypes.StringType, false)
            .add("offset", DataTypes.LongType, false)
            .add("label", DataTypes.IntegerType, true)
            .add("image", DataTypes.BinaryType, false);
    static final StructType QUARANTINE_SCHEMA = new StructType()
            .add("source", DataTypes.StringType, false)
            .add("offset", DataTypes.LongType, false)
            .add("reason", DataTypes.StringType, false)
            .add("excerpt", DataTypes.StringType, true);

    private IngestJob() {
    }

    /** What an ingest wrote. */
    public record Result(String output, DatasetManifest manifest, DatasetManifest.Slice slice,
                         List<DatasetManifest.Shard> shards, double seconds) {
        public double megabytesPerSecond() {
            return slice.inputBytes() / 1e6 / seconds;
        }
    }

    /** Checks input and output, all before Spark starts, then ingests. */
    public static Result run(IngestConfig config, boolean overwrite) {
        Configuration hadoop = new Configuration();
        checkInput(config, hadoop);
        boolean append = !overwrite && DatasetFiles.isDataset(config.output(), hadoop);
        if (!append) {
            RunDirectory.prepare(config.output(), overwrite, hadoop);
        } else {
            DatasetManifest existing = DatasetFiles.manifest(config.output(), hadoop);
            if (!existing.kind().equals(config.kind())) {
                throw new ConfigException(config.output() + " holds a " + existing.kind() + " dataset; cannot "
                        + "append " + config.kind() + " records (source " + config.source() + ")");
            }
        }
        SparkSession spark = SparkSetup.session("ingest", config.master());
        return ingest(config, spark);
    }

    static long checkInput(IngestConfig config, Configuration hadoop) {
        return switch (config.source()) {
            case "spamassassin" -> TextCorpus.checkInput(SpamAssassinSource.pattern(config.input()), hadoop);
            case "idx" -> TextCorpus.checkInput(config.input(), hadoop);
            default -> TextCorpus.checkInput(config.input(), hadoop);
        };
    }

    /** Ingests into {@code config.output()}: a new dataset when it holds none, else a new slice of it. */
    public static Result ingest(IngestConfig config, SparkSession spark) {
        long started = System.nanoTime();
        JavaSparkContext sc = SparkSetup.context(spark);
        Configuration hadoop = sc.hadoopConfiguration();
        String out = config.output();
        DatasetManifest existing = DatasetFiles.isDataset(out, hadoop) ? DatasetFiles.manifest(out, hadoop) : null;
        CharVocabulary vocabulary = existing != null && existing.vocabulary() != null
                ? DatasetFiles.vocabulary(out, existing, hadoop) : null;
        int slice = existing == null ? 0 : existing.slices().size();
        int partitions = config.partitions() > 0 ? config.partitions() : sc.defaultParallelism();
        long inputBytes = checkInput(config, hadoop);

        List<IdxSource.Part> idxParts = config.source().equals("idx") ? IdxSource.plan(config.input(), hadoop) : null;
        DatasetManifest.Image image = null;
        if (idxParts != null) {
            IdxSource.Shape shape = IdxSource.shape(idxParts, config.input());
            image = new DatasetManifest.Image(shape.rows(), shape.cols());
            if (existing != null && !image.equals(existing.image())) {
                throw new InputException(config.input() + ": images of " + image.rows() + "x" + image.cols()
                        + " do not match the dataset's " + existing.image());
            }
        }
        JavaRDD<RawRecord> records = switch (config.source()) {
            case "text" -> TextSource.read(sc, config, partitions);
            case "jsonl" -> JsonLinesSource.read(sc, config, partitions);
            case "parquet" -> ParquetSource.read(spark, config, partitions);
            case "spamassassin" -> SpamAssassinSource.read(sc, config, partitions);
            case "idx" -> IdxSource.read(sc, config, idxParts);
            default -> throw new IllegalStateException(config.source());
        };
        if (records.getNumPartitions() > 2 * partitions) {
            // Many small files make a task each; a task per file costs more than reading it.
            records = records.coalesce(2 * partitions);
        }

        // Pass 1: counts and the vocabulary's character counts, merged on the executors.
        SliceSummary summary = records.mapPartitions(SliceSummary::of).treeReduce(SliceSummary::merge, 2);
        long total = summary.good + summary.bad;
        LOG.info("ingest slice {} of {} ({}): {} good, {} bad {}, {} blank lines", slice, config.input(),
                config.source(), summary.good, summary.bad, summary.badByReason, summary.blank);
        String quarantine = "";
        if (summary.bad > 0) {
            quarantine = DatasetManifest.QUARANTINE + "/" + sliceName(slice);
            writeQuarantine(spark, records, new Path(out, quarantine));
        }
        if (total == 0 || summary.good == 0) {
            throw new InputException(config.input() + ": no good records (" + summary.bad + " bad, "
                    + summary.blank + " blank lines)" + (quarantine.isEmpty() ? "" : "; see " + new Path(out, quarantine)));
        }
        double badFraction = (double) summary.bad / total;
        if (badFraction > config.maxBadFraction()) {
            throw new InputException(String.format("%s: %d of %d records bad (%.2f%% > maxBadFraction %.2f%%): %s; "
                            + "quarantine: %s", config.input(), summary.bad, total, 100 * badFraction,
                    100 * config.maxBadFraction(), summary.badByReason, new Path(out, quarantine)));
        }
        boolean text = !config.source().equals("idx");
        double oovRate = 0;
        if (text) {
            Map<Integer, Long> counts = summary.characterCounts();
            if (vocabulary == null) {
                vocabulary = CharVocabulary.fromCounts(counts, config.vocabularySize());
            }
            long unknown = 0;
            for (Map.Entry<Integer, Long> e : counts.entrySet()) {
                if (vocabulary.id(e.getKey()) == CharVocabulary.UNKNOWN) {
                    unknown += e.getValue();
                }
            }
            oovRate = (double) unknown / Math.max(1, summary.characters);
            if (existing != null && config.vocabularyFrozen() && oovRate > config.maxOovRate()) {
                throw new InputException(String.format("%s: %.3f%% of the slice's characters are outside the "
                                + "dataset's frozen vocabulary (> vocabulary.maxOovRate %.3f%%); nothing appended to %s",
                        config.input(), 100 * oovRate, 100 * config.maxOovRate(), out));
            }
        }

        // Pass 2: the good records, encoded, into balanced shards.
        double dataBytes = text ? 4.0 * summary.characters : summary.imageBytes;
        int shardCount = (int) Math.max(1, Math.ceil(dataBytes / (config.shardMegabytes() * 1024 * 1024)));
        String sliceDir = DatasetManifest.SHARDS + "/" + sliceName(slice);
        List<DatasetManifest.Shard> shards = writeShards(spark, records, config, vocabulary, shardCount,
                new Path(out), sliceDir, slice);

        String now = Instant.now().toString();
        DatasetManifest.Slice sliceInfo = new DatasetManifest.Slice(slice, now, config.source(),
                List.of(qualified(config.input(), hadoop)), inputBytes, summary.good, summary.bad, summary.badByReason, summary.blank,
                text ? summary.characters : 0, oovRate, quarantine, text ? new DatasetManifest.Overlong(
                summary.truncated, summary.charactersCut, summary.split, summary.pieces) : null);
        DatasetManifest.Vocabulary vocab = text ? new DatasetManifest.Vocabulary(vocabulary.sha256(),
                vocabulary.size()) : null;
        DatasetManifest manifest = existing != null ? existing.append(sliceInfo, shards, vocab)
                : new DatasetManifest(DatasetManifest.SCHEMA_VERSION, config.kind(), now, now, config.seed(), vocab,
                config.labeled() ? config.labels() : List.of(), image,
                new DatasetManifest.Splits(config.validationFraction(), config.testFraction()), List.of(sliceInfo),
                shards);
        try {
            if (existing == null && text) {
                AtomicFiles.replace(new Path(out, DatasetManifest.VOCABULARY_FILE), vocabulary.toJson(),
                        hadoop);
            }
            AtomicFiles.replace(new Path(out, DatasetManifest.FILE), manifest.toJson(), hadoop);
        } catch (IOException e) {
            throw new InputException("cannot write " + new Path(out, DatasetManifest.FILE) + ": " + e.getMessage(), e);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        LOG.info("ingest slice {}: {} shards, {} rows, {} bytes in {}; {} MB/s", slice, shards.size(),
                shards.stream().mapToLong(DatasetManifest.Shard::rows).sum(),
                shards.stream().mapToLong(DatasetManifest.Shard::bytes).sum(), sliceDir,
                String.format("%.1f", inputBytes / 1e6 / seconds));
        return new Result(out, manifest, sliceInfo, shards, seconds);
    }

    /** The lines {@code anneal ingest} prints: the slice's counts, shards and throughput. */
    public static String describe(Result r) {
        DatasetManifest.Slice s = r.slice();
        long rows = r.shards().stream().mapToLong(DatasetManifest.Shard::rows).sum();
        long bytes = r.shards().stream().mapToLong(DatasetManifest.Shard::bytes).sum();
        StringBuilder sb = new StringBuilder(String.format("ingest done: slice %d of %s: %d good, %d bad records%s, "
                        + "%d blank lines; %d shards (%d rows, %.1f MB); %.1f MB of input in %.1f s (%.1f MB/s)%n",
                s.index(), r.output(), s.goodRecords(), s.badRecords(), s.badByReason().isEmpty() ? ""
                        : " " + s.badByReason(), s.blankLines(), r.shards().size(), rows, bytes / 1e6,
                s.inputBytes() / 1e6, r.seconds(), r.megabytesPerSecond()));
        DatasetManifest.Overlong o = s.overlong();
        if (o != null && o.truncated() > 0) {
            sb.append(String.format("over-long records: %d truncated to record.maxLength (%d characters cut)%n",
                    o.truncated(), o.charactersCut()));
        }
        if (o != null && o.split() > 0) {
            sb.append(String.format("over-long records: %d split into %d pieces of at most record.maxLength%n",
                    o.split(), o.pieces()));
        }
        if (!s.quarantine().isEmpty()) {
            sb.append("quarantine: ").append(new Path(r.output(), s.quarantine())).append('\n');
        }
        if (r.manifest().vocabulary() != null) {
            sb.append(String.format("vocabulary: %d ids (sha256 %s); out-of-vocabulary rate %.4f%%%n",
                    r.manifest().vocabulary().size(), r.manifest().vocabulary().sha256(), 100 * s.oovRate()));
        }
        return sb.toString();
    }

    /**
     * Kryo registrations of what ingest moves between JVMs: the summary writes only the characters it saw (Kryo's
     * field serializer would skip its transient counts), and IDX parts are records, whose final fields Kryo 4 cannot
     * set.
     */
    public static void registerKryo(com.esotericsoftware.kryo.Kryo kryo) {
        kryo.register(SliceSummary.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(IdxSource.Part.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(ShardWriter.Written.class, new com.esotericsoftware.kryo.serializers.JavaSerializer());
        kryo.register(ShardWriter.ShardRow.class);
    }

    private static String qualified(String input, Configuration conf) {
        try {
            Path p = new Path(input);
            return p.getFileSystem(conf).makeQualified(p).toString();
        } catch (IOException e) {
            return input;
        }
    }

    static String sliceName(int slice) {
        return String.format("slice-%05d", slice);
    }

    private static void writeQuarantine(SparkSession spark, JavaRDD<RawRecord> records, Path dir) {
        JavaRDD<org.apache.spark.sql.Row> rows = records.filter(RawRecord::isBad)
                .map(r -> RowFactory.create(r.source, r.offset, r.reason, r.excerpt));
        spark.createDataFrame(rows, QUARANTINE_SCHEMA).coalesce(1).write().mode("overwrite").parquet(dir.toString());
    }

    /**
     * Writes the slice's shards: each record goes to shard {@code floor(h * n)} where h is a hash of the seed and its
     * id, so shards are balanced and the same records always give the same shards; inside a shard records keep the
     * order of their source and offset, so text stays in reading order. Each shard is written by the task that holds
     * it, to a file named by the task attempt, and moved into place by the driver once every task has succeeded, so a
     * retried or speculative attempt never leaves a second copy.
     */
    private static List<DatasetManifest.Shard> writeShards(SparkSession spark, JavaRDD<RawRecord> records,
                                                           IngestConfig config, CharVocabulary vocabulary,
                                                           int shardCount, Path out, String sliceDir, int slice) {
        long seed = config.seed();
        double vf = config.validationFraction();
        double tf = config.testFraction();
        List<String> testFiles = config.testFiles();
        boolean text = vocabulary != null;
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        SerializableConfiguration taskConf = new SerializableConfiguration(conf);
        Path tmp = new Path(out, "." + sliceName(slice) + ".tmp");
        String tmpDir = tmp.toString();
        List<ShardWriter.Written> written = records.filter(RawRecord::good)
                .mapToPair(r -> {
                    int shard = (int) Math.min(shardCount - 1,
                            Math.floor(StableSplit.unitHash(seed + ":" + r.id) * shardCount));
                    String key = shardKey(shard, r.source, r.offset, r.id);
                    String split = IngestConfig.isTestFile(r.source, testFiles) ? "test"
                            : StableSplit.of(r.id, vf, tf).name().toLowerCase();
                    return new Tuple2<>(key, new ShardWriter.ShardRow(r.id, split, r.source, r.offset, r.label,
                            text ? vocabulary.encode(r.text) : null, r.image));
                })
                .repartitionAndSortWithinPartitions(new ShardPartitioner(shardCount))
                .mapPartitionsWithIndex((shard, it) -> {
                    if (!it.hasNext()) {
                        return java.util.Collections.emptyIterator();
                    }
                    Path file = new Path(tmpDir, String.format("shard-%05d.parquet.attempt-%d", shard,
                            TaskContext.get().taskAttemptId()));
                    Iterator<ShardWriter.ShardRow> rows = new Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return it.hasNext();
                        }

                        @Override
                        public ShardWriter.ShardRow next() {
                            return it.next()._2();
                        }
                    };
                    return List.of(ShardWriter.write(rows, file, shard, text, taskConf.value())).iterator();
                }, true)
                .collect();
        try {
            FileSystem fs = out.getFileSystem(conf);
            Path target = new Path(out, sliceDir);
            // What a killed earlier attempt at this slice left: never in the manifest, so never read.
            fs.delete(target, true);
            fs.mkdirs(target);
            List<ShardWriter.Written> sorted = new ArrayList<>(written);
            sorted.sort(java.util.Comparator.comparingInt(ShardWriter.Written::shard));
            List<DatasetManifest.Shard> shards = new ArrayList<>();
            for (ShardWriter.Written w : sorted) {
                String name = String.format("shard-%05d.parquet", w.shard());
                Path dest = new Path(target, name);
                if (!fs.rename(new Path(w.path()), dest)) {
                    throw new IOException("cannot rename " + w.path() + " to " + dest);
                }
                shards.add(new DatasetManifest.Shard(sliceDir + "/" + name, slice, w.rows(), w.bytes(), w.sha256()));
            }
            fs.delete(tmp, true);
            return shards;
        } catch (IOException e) {
            throw new InputException("cannot write shards under " + new Path(out, sliceDir) + ": " + e.getMessage(),
                    e);
        }
    }

    /** The sort key inside a shard: the shard, then source, offset and id, so text keeps its reading order. */
    static String shardKey(int shard, String source, long offset, String id) {
        String digits = Long.toString(offset + 1);
        StringBuilder sb = new StringBuilder(source.length() + id.length() + 30);
        String s = Integer.toString(shard);
        sb.append("000000", s.length(), 6).append(s).append('|').append(source).append('|');
        sb.append("00000000000000000000", digits.length(), 20).append(digits).append('|').append(id);
        return sb.toString();
    }

    /** Sends a key to the shard its first six digits name. */
    static final class ShardPartitioner extends Partitioner {
        private final int shards;

        ShardPartitioner(int shards) {
            this.shards = shards;
        }

        @Override
        public int numPartitions() {
            return shards;
        }

        @Override
        public int getPartition(Object key) {
            return Integer.parseInt(((String) key).substring(0, 6));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ShardPartitioner p && p.shards == shards;
        }

        @Override
        public int hashCode() {
            return shards;
        }
    }
}

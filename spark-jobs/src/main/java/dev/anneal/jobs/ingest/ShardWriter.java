package dev.anneal.jobs.ingest;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.io.api.RecordConsumer;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes one shard on the executor that holds its rows, straight through parquet-hadoop: no Spark SQL rows, no
 * conversion of every token id to a Catalyst value. The file is what Spark's own writer makes of
 * {@link IngestJob#TEXT_SCHEMA} or {@link IngestJob#IMAGE_SCHEMA} (required fields, a standard three-level list of
 * token ids, snappy), so Spark reads it back with the same schema. After closing it the writer reads the file once more
 * for its size and sha256, so the manifest's figures need no job of their own.
 */
final class ShardWriter {
    static final MessageType TEXT = MessageTypeParser.parseMessageType("""
            message spark_schema {
              required binary id (STRING);
              required binary split (STRING);
              required binary source (STRING);
              required int64 offset;
              optional int32 label;
              required group tokens (LIST) {
                repeated group list {
                  required int32 element;
                }
              }
            }""");
    static final MessageType IMAGE = MessageTypeParser.parseMessageType("""
            message spark_schema {
              required binary id (STRING);
              required binary split (STRING);
              required binary source (STRING);
              required int64 offset;
              optional int32 label;
              required binary image;
            }""");

    private ShardWriter() {
    }

    /** One record on its way to its shard: encoded token ids, or image bytes. */
    static final class ShardRow implements Serializable {
        private static final long serialVersionUID = 1L;
        final String id;
        final String split;
        final String source;
        final long offset;
        /** {@link RawRecord#NO_LABEL} when unlabeled. */
        final int label;
        final int[] tokens;
        final byte[] image;

        ShardRow(String id, String split, String source, long offset, int label, int[] tokens, byte[] image) {
            this.id = id;
            this.split = split;
            this.source = source;
            this.offset = offset;
            this.label = label;
            this.tokens = tokens;
            this.image = image;
        }
    }

    /** What a task wrote: the file, its rows, bytes and sha256. */
    record Written(String path, int shard, long rows, long bytes, String sha256) implements Serializable {
    }

    /** Writes {@code rows} to {@code file} (replacing what a failed attempt left there) and describes the result. */
    static Written write(Iterator<ShardRow> rows, Path file, int shard, boolean text, Configuration conf)
            throws IOException {
        long count = 0;
        try (ParquetWriter<ShardRow> writer = new Builder(file, text ? TEXT : IMAGE)
                .withConf(conf)
                .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
                .withCompressionCodec(CompressionCodecName.SNAPPY)
                .build()) {
            while (rows.hasNext()) {
                writer.write(rows.next());
                count++;
            }
        }
        FileSystem fs = file.getFileSystem(conf);
        MessageDigest sha = sha256();
        long bytes = 0;
        try (InputStream in = fs.open(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
                bytes += n;
            }
        }
        return new Written(file.toString(), shard, count, bytes, HexFormat.of().formatHex(sha.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class Builder extends ParquetWriter.Builder<ShardRow, Builder> {
        private final MessageType schema;

        Builder(Path file, MessageType schema) {
            super(file);
            this.schema = schema;
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected WriteSupport<ShardRow> getWriteSupport(Configuration conf) {
            return new RowWriteSupport(schema);
        }
    }

    /** Emits a {@link ShardRow} field by field in the schema's order. */
    private static final class RowWriteSupport extends WriteSupport<ShardRow> {
        private final MessageType schema;
        private final boolean text;
        private RecordConsumer out;

        RowWriteSupport(MessageType schema) {
            this.schema = schema;
            this.text = schema.containsField("tokens");
        }

        @Override
        public WriteContext init(Configuration configuration) {
            return new WriteContext(schema, Map.of());
        }

        @Override
        public void prepareForWrite(RecordConsumer recordConsumer) {
            this.out = recordConsumer;
        }

        @Override
        public void write(ShardRow r) {
            out.startMessage();
            string("id", 0, r.id);
            string("split", 1, r.split);
            string("source", 2, r.source);
            out.startField("offset", 3);
            out.addLong(r.offset);
            out.endField("offset", 3);
            if (r.label != RawRecord.NO_LABEL) {
                out.startField("label", 4);
                out.addInteger(r.label);
                out.endField("label", 4);
            }
            if (text) {
                out.startField("tokens", 5);
                out.startGroup();
                if (r.tokens.length > 0) {
                    out.startField("list", 0);
                    for (int t : r.tokens) {
                        out.startGroup();
                        out.startField("element", 0);
                        out.addInteger(t);
                        out.endField("element", 0);
                        out.endGroup();
                    }
                    out.endField("list", 0);
                }
                out.endGroup();
                out.endField("tokens", 5);
            } else {
                out.startField("image", 5);
                out.addBinary(Binary.fromConstantByteArray(r.image));
                out.endField("image", 5);
            }
            out.endMessage();
        }

        private void string(String name, int index, String value) {
            out.startField(name, index);
            out.addBinary(Binary.fromString(value));
            out.endField(name, index);
        }
    }
}

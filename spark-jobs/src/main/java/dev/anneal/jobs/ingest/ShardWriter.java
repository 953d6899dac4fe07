package dev.anneal.jobs.ingest;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes one shard on the executor that holds its rows, straight through parquet-hadoop's column writers: no Spark SQL
 * rows, no conversion of every token id to a Catalyst value. The file is what Spark's own writer makes of
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
        long count;
        try (Columns columns = new Columns(file, text ? TEXT : IMAGE, conf)) {
            while (rows.hasNext()) {
                columns.write(rows.next());
            }
            count = columns.finish();
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

    /**
     * The file, written column by column: each value goes straight to its column's writer with its repetition and
     * definition levels, which is what parquet-hadoop's record writer does after walking the schema for every value
     * (that walk was two fifths of the cost of writing token ids). Row groups are cut at {@link #ROW_GROUP} bytes, as
     * parquet-hadoop's default.
     */
    private static final class Columns implements AutoCloseable {
        private static final long ROW_GROUP = ParquetWriter.DEFAULT_BLOCK_SIZE;
        private final ParquetFileWriter file;
        private final MessageType schema;
        private final boolean text;
        private final ParquetProperties properties = ParquetProperties.builder().build();
        private final CodecFactory codecs;
        private final CodecFactory.BytesCompressor compressor;
        private ColumnChunkPageWriteStore pages;
        private ColumnWriteStore store;
        private ColumnWriter id;
        private ColumnWriter split;
        private ColumnWriter source;
        private ColumnWriter offset;
        private ColumnWriter label;
        private ColumnWriter payload;
        private long rows;
        private long total;
        private boolean ended;

        Columns(Path path, MessageType schema, Configuration conf) throws IOException {
            this.schema = schema;
            this.text = schema.containsField("tokens");
            this.file = new ParquetFileWriter(HadoopOutputFile.fromPath(path, conf), schema,
                    ParquetFileWriter.Mode.OVERWRITE, ROW_GROUP, ParquetWriter.MAX_PADDING_SIZE_DEFAULT);
            this.codecs = new CodecFactory(conf, properties.getPageSizeThreshold());
            this.compressor = codecs.getCompressor(CompressionCodecName.SNAPPY);
            file.start();
            startRowGroup();
        }

        private void startRowGroup() {
            pages = new ColumnChunkPageWriteStore(compressor, schema, properties.getAllocator(),
                    properties.getColumnIndexTruncateLength(), properties.getPageWriteChecksumEnabled());
            store = properties.newColumnWriteStore(schema, pages);
            List<ColumnDescriptor> c = schema.getColumns();
            id = store.getColumnWriter(c.get(0));
            split = store.getColumnWriter(c.get(1));
            source = store.getColumnWriter(c.get(2));
            offset = store.getColumnWriter(c.get(3));
            label = store.getColumnWriter(c.get(4));
            payload = store.getColumnWriter(c.get(5));
        }

        void write(ShardRow r) throws IOException {
            id.write(Binary.fromString(r.id), 0, 0);
            split.write(Binary.fromString(r.split), 0, 0);
            source.write(Binary.fromString(r.source), 0, 0);
            offset.write(r.offset, 0, 0);
            if (r.label == RawRecord.NO_LABEL) {
                label.writeNull(0, 0);
            } else {
                label.write(r.label, 0, 1);
            }
            if (!text) {
                payload.write(Binary.fromConstantByteArray(r.image), 0, 0);
            } else if (r.tokens.length == 0) {
                // An empty list: defined up to the list itself, no element.
                payload.writeNull(0, 0);
            } else {
                int[] tokens = r.tokens;
                payload.write(tokens[0], 0, 1);
                for (int i = 1; i < tokens.length; i++) {
                    payload.write(tokens[i], 1, 1);
                }
            }
            store.endRecord();
            rows++;
            total++;
            if (store.getBufferedSize() > ROW_GROUP) {
                flushRowGroup();
                startRowGroup();
            }
        }

        private void flushRowGroup() throws IOException {
            if (rows > 0) {
                file.startBlock(rows);
                store.flush();
                pages.flushToFileWriter(file);
                file.endBlock();
            }
            store.close();
            rows = 0;
        }

        /** Writes the last row group and the footer; the rows written. */
        long finish() throws IOException {
            flushRowGroup();
            file.end(Map.of());
            ended = true;
            return total;
        }

        @Override
        public void close() {
            codecs.release();
            if (!ended) {
                store.close();
            }
        }
    }
}

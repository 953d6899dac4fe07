package dev.anneal.jobs.ingest;

import dev.anneal.core.config.IngestConfig;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapred.FileSplit;
import org.apache.hadoop.mapred.TextInputFormat;
import org.apache.spark.api.java.JavaHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import scala.Tuple2;

import java.util.List;

/**
 * Plain text (a file, directory or glob; .txt or .gz, any Hadoop URI): every non-blank line is a record, read with
 * Hadoop's line reader so that the raw bytes can be checked for UTF-8 and binary content before decoding.
 */
final class TextSource {
    private TextSource() {
    }

    static JavaRDD<RawRecord> read(JavaSparkContext sc, IngestConfig config, int partitions) {
        RecordChecks checks = new RecordChecks(config);
        return lines(sc, config.input(), partitions, line -> {
            if (line.text == null) {
                return List.of(line.bad);
            }
            if (line.text.isBlank()) {
                return List.of(RawRecord.blank(line.source, line.offset));
            }
            return checks.text(line.source, line.offset, null, line.text, RawRecord.NO_LABEL);
        });
    }

    /** One line of a file: its text, or the bad record it already is (invalid UTF-8 or binary). */
    static final class Line {
        final String source;
        final long offset;
        final String text;
        final RawRecord bad;

        Line(String source, long offset, String text, RawRecord bad) {
            this.source = source;
            this.offset = offset;
            this.text = text;
            this.bad = bad;
        }
    }

    /**
     * The lines of {@code input} with their file and byte offset (for a .gz file, the offset in the compressed
     * stream where Hadoop's reader was), each expanded to records by {@code toRecords} on the executors.
     */
    @SuppressWarnings("unchecked")
    static JavaRDD<RawRecord> lines(JavaSparkContext sc, String input, int partitions,
                                    Function<Line, List<RawRecord>> toRecords) {
        JavaHadoopRDD<LongWritable, Text> rdd = (JavaHadoopRDD<LongWritable, Text>) sc.hadoopFile(input,
                TextInputFormat.class, LongWritable.class, Text.class, partitions);
        return rdd.mapPartitionsWithInputSplit((split, it) -> {
            String source = split instanceof FileSplit f ? f.getPath().toString() : split.toString();
            return new Flattening<Tuple2<LongWritable, Text>, RawRecord>(it, t -> {
                Text value = t._2();
                long offset = t._1().get();
                byte[] bytes = value.getBytes();
                int length = value.getLength();
                Line line;
                if (RecordChecks.hasNul(bytes, length)) {
                    line = new Line(source, offset, null, RawRecord.bad(source, offset, RecordChecks.BINARY,
                            RecordChecks.excerpt(bytes, length)));
                } else {
                    String text = RecordChecks.decode(bytes, length);
                    line = text != null ? new Line(source, offset, text, null)
                            : new Line(source, offset, null, RawRecord.bad(source, offset,
                            RecordChecks.INVALID_UTF8, RecordChecks.excerpt(bytes, length)));
                }
                try {
                    return toRecords.call(line);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }, false);
    }
}

package dev.anneal.jobs.ingest;

import dev.anneal.core.InputException;
import dev.anneal.core.config.IngestConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.SerializableConfiguration;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

/**
 * IDX images and labels (MNIST, Fashion-MNIST): a directory with {@code <prefix>-images-idx3-ubyte[.gz]} and
 * {@code <prefix>-labels-idx1-ubyte[.gz]} pairs. The driver reads the headers only; executors stream their range of
 * rows. A row missing from a truncated file, or whose label is not declared, is a bad record.
 */
final class IdxSource {
    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;
    private static final int ROWS_PER_PART = 5000;

    private IdxSource() {
    }

    /** One executor task's work: rows {@code [start, end)} of a pair of files. */
    record Part(String images, String labels, int start, int end, int rows, int cols, int labelCount)
            implements Serializable {
    }

    /** The image shape, which every pair must share. */
    record Shape(int rows, int cols) {
    }

    static List<Part> plan(String input, Configuration conf) {
        Path dir = new Path(input);
        List<Part> parts = new ArrayList<>();
        try {
            FileSystem fs = dir.getFileSystem(conf);
            FileStatus[] files = fs.listStatus(dir);
            for (FileStatus f : files) {
                String name = f.getPath().getName();
                int at = name.indexOf("-images-idx3-ubyte");
                if (at < 0) {
                    continue;
                }
                String suffix = name.substring(at + "-images-idx3-ubyte".length());
                Path labels = new Path(dir, name.substring(0, at) + "-labels-idx1-ubyte" + suffix);
                if (!fs.exists(labels)) {
                    throw new InputException(f.getPath() + ": no labels file " + labels.getName() + " beside it");
                }
                int[] imageHeader = header(fs, f.getPath(), IMAGES_MAGIC, 4);
                int[] labelHeader = header(fs, labels, LABELS_MAGIC, 2);
                int count = imageHeader[1];
                for (int s = 0; s < count; s += ROWS_PER_PART) {
                    parts.add(new Part(f.getPath().toString(), labels.toString(), s, Math.min(count, s + ROWS_PER_PART),
                            imageHeader[2], imageHeader[3], labelHeader[1]));
                }
            }
        } catch (IOException e) {
            throw new InputException("cannot read " + input + ": " + e.getMessage(), e);
        }
        if (parts.isEmpty()) {
            throw new InputException(input + ": no *-images-idx3-ubyte[.gz] files");
        }
        return parts;
    }

    static Shape shape(List<Part> parts, String input) {
        Part first = parts.get(0);
        for (Part p : parts) {
            if (p.rows() != first.rows() || p.cols() != first.cols()) {
                throw new InputException(input + ": images of " + p.rows() + "x" + p.cols() + " in " + p.images()
                        + " and " + first.rows() + "x" + first.cols() + " in " + first.images());
            }
        }
        return new Shape(first.rows(), first.cols());
    }

    private static int[] header(FileSystem fs, Path path, int magic, int ints) throws IOException {
        try (DataInputStream in = new DataInputStream(open(fs, path))) {
            int[] h = new int[ints];
            for (int i = 0; i < ints; i++) {
                h[i] = in.readInt();
            }
            if (h[0] != magic) {
                throw new InputException(path + ": not an IDX file of the expected kind (magic 0x"
                        + Integer.toHexString(h[0]) + ", expected 0x" + Integer.toHexString(magic) + ")");
            }
            return h;
        } catch (EOFException e) {
            throw new InputException(path + ": IDX header cut short", e);
        }
    }

    private static InputStream open(FileSystem fs, Path path) throws IOException {
        InputStream in = new BufferedInputStream(fs.open(path), 1 << 16);
        return path.getName().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in;
    }

    static JavaRDD<RawRecord> read(JavaSparkContext sc, IngestConfig config, List<Part> parts) {
        RecordChecks checks = new RecordChecks(config);
        SerializableConfiguration conf = new SerializableConfiguration(sc.hadoopConfiguration());
        return sc.parallelize(parts, parts.size()).flatMap(p -> new Rows(p, conf.value(), checks));
    }

    /** Streams one part's rows, skipping to its start; the files are read sequentially, never held whole. */
    private static final class Rows implements Iterator<RawRecord> {
        private final Part part;
        private final RecordChecks checks;
        private final DataInputStream images;
        private final DataInputStream labels;
        private int index;

        Rows(Part part, Configuration conf, RecordChecks checks) throws IOException {
            this.part = part;
            this.checks = checks;
            Path ip = new Path(part.images());
            Path lp = new Path(part.labels());
            FileSystem fs = ip.getFileSystem(conf);
            images = new DataInputStream(open(fs, ip));
            labels = new DataInputStream(open(fs, lp));
            long pixels = (long) part.rows() * part.cols();
            skip(images, 16 + pixels * part.start());
            skip(labels, 8 + (long) part.start());
            index = part.start();
        }

        private static void skip(InputStream in, long n) throws IOException {
            while (n > 0) {
                long s = in.skip(n);
                if (s <= 0) {
                    if (in.read() < 0) {
                        return;
                    }
                    s = 1;
                }
                n -= s;
            }
        }

        @Override
        public boolean hasNext() {
            if (index < part.end()) {
                return true;
            }
            close();
            return false;
        }

        @Override
        public RawRecord next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int i = index++;
            String source = part.images();
            byte[] pixels = new byte[part.rows() * part.cols()];
            try {
                images.readFully(pixels);
            } catch (IOException e) {
                return RawRecord.bad(source, i, RecordChecks.CORRUPT_IMAGE + " (file ends before row " + i + ")", "");
            }
            if (i >= part.labelCount()) {
                return RawRecord.bad(source, i, CORRUPT_NO_LABEL, "");
            }
            int label;
            try {
                label = labels.readUnsignedByte();
            } catch (IOException e) {
                return RawRecord.bad(source, i, CORRUPT_NO_LABEL, "");
            }
            int labelIndex = checks.labelIndex(Integer.toString(label));
            if (labelIndex < 0) {
                return RawRecord.bad(source, i, RecordChecks.BAD_LABEL + " " + checks.labels(), "label=" + label);
            }
            return RawRecord.image(source, i, RecordChecks.sha256(pixels).substring(0, 32) + ":" + label, pixels,
                    labelIndex);
        }

        private void close() {
            try {
                images.close();
                labels.close();
            } catch (IOException e) {
                // Read-only streams: nothing was written that closing could lose.
            }
        }
    }

    private static final String CORRUPT_NO_LABEL = RecordChecks.CORRUPT_IMAGE + " (no label)";
}

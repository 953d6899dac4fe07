package dev.anneal.jobs.data;

import dev.anneal.core.InputException;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.jobs.ingest.DatasetFiles;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import scala.Tuple2;

import java.util.List;

/**
 * An ingested image dataset (kind {@code image}) as labeled task records: the shards its manifest lists are read on
 * the executors, the images whose label is among the chosen ones are kept, and each label is remapped to its
 * position in that list (so classes 5–9 of Fashion-MNIST become outputs 0–4). The dataset's splits are used as
 * they are.
 */
public final class ImageRecords {
    private final SparkSession spark;
    private final String dir;
    private final DatasetManifest manifest;

    private ImageRecords(SparkSession spark, String dir, DatasetManifest manifest) {
        this.spark = spark;
        this.dir = dir;
        this.manifest = manifest;
    }

    /** Whether {@code input} is an image dataset directory. */
    public static boolean isImageDataset(String input, Configuration conf) {
        return DatasetFiles.isDataset(input, conf) && DatasetFiles.manifest(input, conf).kind().equals("image");
    }

    public static ImageRecords open(SparkSession spark, String dir) {
        DatasetManifest manifest = DatasetFiles.manifest(dir, spark.sparkContext().hadoopConfiguration());
        if (!manifest.kind().equals("image") || manifest.image() == null) {
            throw new InputException(dir + ": a " + manifest.kind() + " dataset; an image dataset was expected");
        }
        if (manifest.shards().isEmpty()) {
            throw new InputException(dir + ": the dataset lists no shards");
        }
        return new ImageRecords(spark, dir, manifest);
    }

    public DatasetManifest manifest() {
        return manifest;
    }

    /** Pixels per image. */
    public int pixels() {
        return manifest.image().rows() * manifest.image().cols();
    }

    /**
     * The dataset's label indexes of {@code chosen} (label values), in order; every label when {@code chosen} is
     * empty. Fails naming {@code key} and the dataset's labels when one is not declared.
     */
    public static int[] labelIndexes(DatasetManifest manifest, List<String> chosen, String key, String dir) {
        List<String> values = chosen.isEmpty() ? manifest.labels() : chosen;
        int[] idx = new int[values.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = manifest.labels().indexOf(values.get(i));
            if (idx[i] < 0) {
                throw new ConfigException(key + " names label '" + values.get(i) + "', which " + dir
                        + " does not declare; its labels: " + manifest.labels());
            }
        }
        return idx;
    }

    /**
     * Every image whose label is one of {@code chosen} (all when empty), as (split, record) with a one-hot target
     * over {@code chosen}'s order.
     */
    public JavaRDD<Tuple2<String, TaskRecord>> records(List<String> chosen, String key) {
        int[] indexes = labelIndexes(manifest, chosen, key, dir);
        int size = manifest.labels().size();
        int[] output = new int[size];
        java.util.Arrays.fill(output, -1);
        for (int i = 0; i < indexes.length; i++) {
            output[indexes[i]] = i;
        }
        int outputs = indexes.length;
        int pixels = pixels();
        String where = dir;
        String[] paths = manifest.shards().stream().map(s -> new Path(dir, s.path()).toString())
                .toArray(String[]::new);
        return spark.read().parquet(paths).select("split", "label", "image", "id").javaRDD()
                .filter(r -> !r.isNullAt(1) && r.getInt(1) >= 0 && r.getInt(1) < size && output[r.getInt(1)] >= 0)
                .map(r -> {
                    byte[] image = (byte[]) r.get(2);
                    if (image == null || image.length != pixels) {
                        throw new InputException(where + ": record " + r.getString(3) + " has "
                                + (image == null ? "no image" : image.length + " pixels") + ", the manifest says "
                                + pixels);
                    }
                    float[] target = new float[outputs];
                    target[output[r.getInt(1)]] = 1;
                    return new Tuple2<>(r.getString(0), TaskRecord.image(image, target));
                });
    }
}

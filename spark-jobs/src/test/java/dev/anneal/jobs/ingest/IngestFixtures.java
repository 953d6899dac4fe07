package dev.anneal.jobs.ingest;

import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Small generated inputs for the ingest tests, and ways to read a dataset back. */
final class IngestFixtures {
    private IngestFixtures() {
    }

    static IngestJob.Result ingest(String input, String output, boolean overwrite, String... sets) {
        List<String> all = new ArrayList<>(List.of("input=" + input, "output=" + output, "spark.master=local[2]"));
        all.addAll(Arrays.asList(sets));
        return IngestJob.run(IngestConfig.SCHEMA.load(null, all), overwrite);
    }

    static void write(Path file, byte[]... parts) throws IOException {
        Files.createDirectories(file.getParent());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p);
        }
        Files.write(file, out.toByteArray());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    static DatasetManifest manifest(Path dataset) {
        return DatasetFiles.manifest(dataset.toString(), new Configuration());
    }

    static DatasetManifest manifestOn(String dataset) {
        return DatasetFiles.manifest(dataset, new Configuration());
    }

    static CharVocabulary vocabulary(Path dataset) {
        return DatasetFiles.vocabulary(dataset.toString(), manifest(dataset), new Configuration());
    }

    /** Every row of the shards the manifest lists. */
    static List<Row> rows(SparkSession spark, Path dataset) {
        String[] paths = manifest(dataset).shards().stream().map(s -> dataset.resolve(s.path()).toString())
                .toArray(String[]::new);
        return spark.read().parquet(paths).collectAsList();
    }

    /** Record id to split of a dataset's rows. */
    static Map<String, String> splits(SparkSession spark, Path dataset) {
        Map<String, String> m = new HashMap<>();
        for (Row r : rows(spark, dataset)) {
            m.put(r.getAs("id"), r.getAs("split"));
        }
        return m;
    }

    static String decode(CharVocabulary v, Row r) {
        List<Integer> ids = r.getList(r.fieldIndex("tokens"));
        return v.decode(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The quarantine rows of a slice. */
    static List<Row> quarantine(SparkSession spark, Path dataset, int slice) {
        return spark.read().parquet(dataset.resolve(DatasetManifest.QUARANTINE).resolve(IngestJob.sliceName(slice))
                .toString()).collectAsList();
    }
}

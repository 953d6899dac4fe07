package dev.anneal.core.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint whose manifest is consistent but whose model.zip carries an entry Anneal does not write, as someone
 * holding the directory could plant it: the store refuses it naming the entry, and the planted object is never
 * deserialized, neither by the allow-list's refusal nor, should an entry get past the list, under the
 * deserialization filter.
 */
class PlantedEntryTest {
    /** Counts its own deserializations. */
    static final class Tripwire implements Serializable {
        private static final long serialVersionUID = 1L;
        static final AtomicInteger DESERIALIZED = new AtomicInteger();

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            DESERIALIZED.incrementAndGet();
        }
    }

    @TempDir
    Path dir;

    private Path checkpoint;

    @BeforeEach
    void writeCheckpoint() {
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        checkpoint = dir.resolve("step-1");
        new CheckpointStore(new Configuration()).write(hadoopPath(checkpoint),
                new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", 1, 1, 1,
                        Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of())));
        Tripwire.DESERIALIZED.set(0);
    }

    private static org.apache.hadoop.fs.Path hadoopPath(Path p) {
        return new org.apache.hadoop.fs.Path(p.toUri());
    }

    private static byte[] serializedTripwire() throws IOException {
        ByteArrayOutputStream object = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(object)) {
            oos.writeObject(new Tripwire());
        }
        return object.toByteArray();
    }

    private static Object deserialize(byte[] bytes) throws IOException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new IOException(e);
        }
    }

    /** Rewrites model.zip with one more entry holding a serialized {@link Tripwire}, and the manifest to match. */
    private Path plant(String entryName) throws Exception {
        Path model = checkpoint.resolve(CheckpointStore.MODEL);
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (ZipFile original = new ZipFile(model.toFile()); ZipOutputStream out = new ZipOutputStream(zipped)) {
            for (ZipEntry e : java.util.Collections.list(original.entries())) {
                out.putNextEntry(new ZipEntry(e.getName()));
                out.write(original.getInputStream(e).readAllBytes());
            }
            out.putNextEntry(new ZipEntry(entryName));
            out.write(serializedTripwire());
        }
        Files.write(model, zipped.toByteArray());
        Path manifest = checkpoint.resolve(CheckpointStore.MANIFEST);
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(manifest.toFile());
        ObjectNode entry = (ObjectNode) root.path("files").path(CheckpointStore.MODEL);
        entry.put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zipped.toByteArray())));
        entry.put("bytes", zipped.size());
        json.writeValue(manifest.toFile(), root);
        try (var crcs = Files.list(checkpoint)) {
            for (Path crc : crcs.filter(p -> p.getFileName().toString().endsWith(".crc")).toList()) {
                Files.delete(crc);
            }
        }
        return model;
    }

    private CheckpointException refusedByTheStore() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> new CheckpointStore(new Configuration()).read(hadoopPath(checkpoint), true));
        assertEquals(3, e.exitCode());
        assertTrue(e.getMessage().contains("model.zip"), e.getMessage());
        return e;
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocessor.bin", "objects/x", "normalizer.bin"})
    void storeRefusesThePlantedEntryWithoutDeserializingIt(String entry) throws Exception {
        plant(entry);

        CheckpointException e = refusedByTheStore();

        assertTrue(e.getMessage().contains("'" + entry + "'"), e.getMessage());
        assertEquals(0, Tripwire.DESERIALIZED.get(), "the planted object must never be deserialized");
    }

    @ParameterizedTest
    @ValueSource(strings = {"../configuration.json", "../../../tmp/evil", "/etc/cron.d/x", "..\\x", "C:x"})
    void entryNamesThatLeaveTheArchiveAreRefusedAsPathTraversal(String entry) throws Exception {
        plant(entry);

        CheckpointException e = refusedByTheStore();

        assertTrue(e.getMessage().contains("'" + entry + "'") && e.getMessage().contains("path traversal"),
                e.getMessage());
        assertEquals(0, Tripwire.DESERIALIZED.get());
    }

    @Test
    void anEntryThatGetsPastTheAllowListIsStillNotDeserialized() throws Exception {
        Path model = plant("preprocessor.bin");

        // The allow-list is skipped here on purpose: DL4J itself reads the planted archive, under the filter.
        CheckpointException e;
        try (InputStream in = Files.newInputStream(model)) {
            e = assertThrows(CheckpointException.class,
                    () -> ModelArchive.restoreRefusingDeserialization(in, true, hadoopPath(model)));
        }

        assertEquals(0, Tripwire.DESERIALIZED.get(), "the filter refused the planted object before readObject");
        assertTrue(e.getMessage().contains("model.zip") && e.getMessage().contains(Tripwire.class.getName())
                && e.getMessage().contains("deserialization filter"), e.getMessage());
        assertEquals(3, e.exitCode());
    }

    @Test
    void theFilterActsOnlyWhileACheckpointLoads() throws Exception {
        assertTrue(DeserializationFilter.install(), "the filter can be installed in this JVM");
        byte[] object = serializedTripwire();

        assertThrows(CheckpointException.class,
                () -> DeserializationFilter.refuseAllWhile("test", () -> deserialize(object)));
        assertEquals(0, Tripwire.DESERIALIZED.get());

        // The same thread after the load, and the Java serialization Spark and Hadoop do, are untouched.
        deserialize(object);
        assertEquals(1, Tripwire.DESERIALIZED.get());
    }

    @Test
    void dl4jAloneWouldDeserializeIt() throws Exception {
        // What the store protects against: DL4J's own loader reads the entry with Java serialization.
        Path model = plant("preprocessor.bin");
        try {
            ModelSerializer.restoreComputationGraph(model.toFile(), true);
        } catch (RuntimeException ignoredClassCastOrSimilar) {
            // DL4J expects a DataSetPreProcessor; by the time it finds out, the object has been deserialized.
        }
        assertEquals(1, Tripwire.DESERIALIZED.get(), "DL4J's loader deserialized the planted entry");
    }
}

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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
 * A checkpoint whose manifest is consistent but whose model.zip carries an entry DL4J would deserialize with Java
 * serialization: the store refuses it, and the planted object is never deserialized.
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
    void writeCheckpointWithPlantedEntry() throws Exception {
        CharVocabulary vocab = CharVocabulary.fromCounts(Map.of((int) 'a', 2L, (int) 'b', 1L), 10);
        var graph = new LstmLanguageModelSpec(vocab.size(), 3, 4, 1).build(1, new Adam(0.01), DataType.FLOAT);
        checkpoint = dir.resolve("step-1");
        new CheckpointStore(new Configuration()).write(new org.apache.hadoop.fs.Path(checkpoint.toUri()),
                new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", 1, 1, 1,
                        Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head"), Map.of(), Map.of())));

        // Rewrite model.zip with one more entry, and the manifest to match, as someone holding the directory could.
        Path model = checkpoint.resolve(CheckpointStore.MODEL);
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (ZipFile original = new ZipFile(model.toFile()); ZipOutputStream out = new ZipOutputStream(zipped)) {
            for (ZipEntry e : java.util.Collections.list(original.entries())) {
                out.putNextEntry(new ZipEntry(e.getName()));
                out.write(original.getInputStream(e).readAllBytes());
            }
            out.putNextEntry(new ZipEntry("preprocessor.bin"));
            ByteArrayOutputStream object = new ByteArrayOutputStream();
            try (ObjectOutputStream oos = new ObjectOutputStream(object)) {
                oos.writeObject(new Tripwire());
            }
            out.write(object.toByteArray());
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
        Tripwire.DESERIALIZED.set(0);
    }

    @Test
    void storeRefusesThePlantedEntryWithoutDeserializingIt() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> new CheckpointStore(new Configuration())
                .read(new org.apache.hadoop.fs.Path(checkpoint.toUri()), true));
        assertTrue(e.getMessage().contains("preprocessor.bin") && e.getMessage().contains("model.zip"),
                e.getMessage());
        assertEquals(3, e.exitCode());
        assertEquals(0, Tripwire.DESERIALIZED.get(), "the planted object must never be deserialized");
    }

    @Test
    void dl4jAloneWouldDeserializeIt() throws IOException {
        // What the store protects against: DL4J's own loader reads the entry with Java serialization.
        try {
            ModelSerializer.restoreComputationGraph(checkpoint.resolve(CheckpointStore.MODEL).toFile(), true);
        } catch (RuntimeException ignoredClassCastOrSimilar) {
            // DL4J expects a DataSetPreProcessor; by the time it finds out, the object has been deserialized.
        }
        assertEquals(1, Tripwire.DESERIALIZED.get(), "DL4J's loader deserialized the planted entry");
    }
}

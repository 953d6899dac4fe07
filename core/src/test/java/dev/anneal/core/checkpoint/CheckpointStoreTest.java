package dev.anneal.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.anneal.core.AnnealException;
import dev.anneal.core.AnnealVersion;
import dev.anneal.core.net.LanguageModelBatches;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.text.CharVocabulary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;

class CheckpointStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TEXT = "the cat sat on the mat; the rat ate the hat.";

    private static CharVocabulary vocab;
    private static ComputationGraph graph;

    @TempDir
    Path tempDir;

    private CheckpointStore store;
    private org.apache.hadoop.fs.Path runDir;
    private Path run;

    @BeforeAll
    static void trainTinyModel() {
        Map<Integer, Long> counts = new HashMap<>();
        TEXT.codePoints().forEach(cp -> counts.merge(cp, 1L, Long::sum));
        vocab = CharVocabulary.fromCounts(counts, 100);
        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocab.size(), 4, 5, 1);
        graph = spec.build(42, new Adam(1e-3), DataType.FLOAT);
        int[] ids = vocab.encode(TEXT);
        int[][] windows = {java.util.Arrays.copyOfRange(ids, 0, 12), java.util.Arrays.copyOfRange(ids, 12, 24)};
        graph.fit(LanguageModelBatches.languageModelBatch(windows, vocab.size()));
    }

    @BeforeEach
    void setUp() {
        store = new CheckpointStore(new Configuration());
        run = tempDir.resolve("run");
        runDir = new org.apache.hadoop.fs.Path(run.toUri());
    }

    private static Checkpoint checkpoint(long step) {
        return new Checkpoint(graph, vocab, new CheckpointInfo("pretrain", step, 2, 42,
                Map.of("kind", "lstm-lm", "encoderOutput", "lstm_0", "head", "head", "hiddenSize", 5),
                Map.of("input", "/data/corpus", "training.batchSize", 2), Map.of("trainLoss", 3.25)));
    }

    private Path stepDir(long step) {
        return run.resolve("checkpoints").resolve("step-" + step);
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    private static Map<String, Object> readJson(Path file) throws IOException {
        return JSON.readValue(Files.readAllBytes(file), new TypeReference<>() { });
    }

    /**
     * Replaces a file's bytes behind Hadoop's back. Hadoop's local filesystem keeps a {@code .name.crc} sidecar that
     * would catch the change first; it is removed so the checkpoint's own checks are what is tested, as on a store
     * without Hadoop checksums.
     */
    private static void replace(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file.resolveSibling("." + file.getFileName() + ".crc"));
        Files.write(file, bytes);
    }

    private static CheckpointException refused(Executable read) {
        CheckpointException e = assertThrows(CheckpointException.class, read);
        assertEquals(AnnealException.EXIT_BAD_INPUT, e.exitCode(), "a bad checkpoint exits with 3");
        return e;
    }

    @Test
    void writeStepCreatesTheStepDirectoryAndPointsLatestAtIt() throws IOException {
        org.apache.hadoop.fs.Path dir = store.writeStep(runDir, checkpoint(3));

        assertEquals(stepDir(3).toUri().getPath().replaceAll("/$", ""), dir.toUri().getPath());
        assertTrue(Files.isDirectory(stepDir(3)));
        assertEquals("step-3\n", Files.readString(run.resolve("checkpoints/LATEST")));
        List<String> files;
        try (Stream<Path> s = Files.list(stepDir(3))) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")).sorted().toList();
        }
        assertEquals(List.of("manifest.json", "model.zip", "vocab.json"), files);
    }

    @Test
    void manifestRecordsFormatStepSeedVersionAndEveryFileHash() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        Map<String, Object> m = readJson(stepDir(3).resolve("manifest.json"));

        assertEquals("anneal-checkpoint", m.get("format"));
        assertEquals(1, m.get("formatVersion"));
        assertEquals("pretrain", m.get("job"));
        assertEquals(3, ((Number) m.get("step")).intValue());
        assertEquals(2, ((Number) m.get("epoch")).intValue());
        assertEquals(42, ((Number) m.get("seed")).intValue());
        assertEquals(AnnealVersion.get(), m.get("codeVersion"));
        assertFalse(String.valueOf(m.get("codeVersion")).isBlank() || "unknown".equals(m.get("codeVersion"))
                || String.valueOf(m.get("codeVersion")).contains("${"), "build stamps the version: " + m);
        assertNotNull(m.get("createdAt"));
        assertEquals("lstm-lm", ((Map<?, ?>) m.get("network")).get("kind"));
        assertEquals("/data/corpus", ((Map<?, ?>) m.get("config")).get("input"));
        assertEquals(3.25, ((Map<?, ?>) m.get("metrics")).get("trainLoss"));

        Map<?, ?> files = (Map<?, ?>) m.get("files");
        assertEquals(2, files.size(), "model.zip and vocab.json: " + files);
        for (String name : List.of("model.zip", "vocab.json")) {
            Map<?, ?> entry = (Map<?, ?>) files.get(name);
            Path file = stepDir(3).resolve(name);
            assertEquals(sha256(file), entry.get("sha256"), name);
            assertEquals(Files.size(file), ((Number) entry.get("bytes")).longValue(), name);
        }
        Map<?, ?> v = (Map<?, ?>) m.get("vocabulary");
        assertEquals(vocab.sha256(), v.get("sha256"));
        assertEquals(sha256(stepDir(3).resolve("vocab.json")), v.get("sha256"), "the hash of vocab.json itself");
        assertEquals(vocab.size(), v.get("size"));
        assertEquals("char", v.get("kind"));

        assertEquals(m, JSON.convertValue(store.manifest(runDir), new TypeReference<Map<String, Object>>() { }));
    }

    @Test
    void readBackGivesIdenticalParametersUpdaterStateAndVocabulary() {
        store.writeStep(runDir, checkpoint(3));

        Checkpoint back = store.read(runDir, true);

        assertEquals(graph.params(), back.graph().params());
        assertNotNull(graph.getUpdater().getStateViewArray());
        assertTrue(graph.getUpdater().getStateViewArray().amaxNumber().doubleValue() > 0,
                "the fit left Adam state to save");
        assertEquals(graph.getUpdater().getStateViewArray(), back.graph().getUpdater().getStateViewArray());
        assertEquals(vocab, back.vocabulary());
        assertEquals(vocab.sha256(), back.vocabulary().sha256());
        assertEquals(checkpoint(3).info(), back.info());
        assertEquals(graph.getConfiguration().toJson(), back.graph().getConfiguration().toJson());
    }

    @Test
    void resolveAcceptsRunCheckpointsAndStepDirectories() {
        org.apache.hadoop.fs.Path dir = store.writeStep(runDir, checkpoint(3));
        org.apache.hadoop.fs.Path checkpoints = new org.apache.hadoop.fs.Path(runDir, "checkpoints");

        assertEquals(dir, store.resolve(runDir));
        assertEquals(dir, store.resolve(checkpoints));
        assertEquals(dir, store.resolve(dir));
        assertEquals(graph.params(), store.read(dir, false).graph().params());
    }

    @Test
    void higherStepMovesLatestAndTheOlderStepStaysReadable() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        org.apache.hadoop.fs.Path seven = store.writeStep(runDir, checkpoint(7));

        assertEquals("step-7\n", Files.readString(run.resolve("checkpoints/LATEST")));
        assertEquals(seven, store.resolve(runDir));
        assertEquals(7, store.read(runDir, false).info().step());
        assertEquals(3, store.read(new org.apache.hadoop.fs.Path(stepDir(3).toUri()), false).info().step());
    }

    @Test
    void writingTheSameStepTwiceIsRefusedAndKeepsTheFirst() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        store.writeStep(runDir, checkpoint(7));
        String modelHash = sha256(stepDir(3).resolve("model.zip"));
        String manifest = Files.readString(stepDir(3).resolve("manifest.json"));

        Checkpoint other = new Checkpoint(graph, CharVocabulary.fromCounts(Map.of((int) 'q', 1L), 5),
                checkpoint(3).info());
        CheckpointException e = refused(() -> store.writeStep(runDir, other));

        assertTrue(e.getMessage().contains("step-3"), e.getMessage());
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(modelHash, sha256(stepDir(3).resolve("model.zip")));
        assertEquals(manifest, Files.readString(stepDir(3).resolve("manifest.json")));
        assertEquals(vocab, store.read(new org.apache.hadoop.fs.Path(stepDir(3).toUri()), false).vocabulary());
        assertEquals("step-7\n", Files.readString(run.resolve("checkpoints/LATEST")), "LATEST is left alone");
    }

    @Test
    void noTemporaryDirectoriesOrFilesRemainAfterWrites() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        store.writeStep(runDir, checkpoint(4));
        assertThrows(CheckpointException.class, () -> store.writeStep(runDir, checkpoint(4)));

        List<String> leftovers;
        try (Stream<Path> s = Files.walk(run)) {
            leftovers = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp")).toList();
        }
        assertEquals(List.of(), leftovers);
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            assertEquals(List.of("LATEST", "step-3", "step-4"), s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList());
        }
    }

    @Test
    void aCheckpointLatestDoesNotNameIsReplacedWhenItsStepIsWrittenAgain() throws IOException {
        // What a writer killed between the checkpoint's rename and LATEST's leaves: step-4 complete, LATEST at step-3.
        store.writeStep(runDir, checkpoint(3));
        store.writeStep(runDir, checkpoint(4));
        Files.writeString(run.resolve("checkpoints/LATEST"), "step-3\n");
        assertEquals(3, store.read(runDir, false).info().step(), "readers go by LATEST");

        // A run resumed from LATEST reaches step 4 again, with other weights.
        Checkpoint redone = new Checkpoint(graph.clone(), vocab, checkpoint(4).info());
        redone.graph().params().addi(1.0);
        store.writeStep(runDir, redone);

        assertEquals("step-4\n", Files.readString(run.resolve("checkpoints/LATEST")));
        assertEquals(redone.graph().params(), store.read(runDir, false).graph().params());
        assertEquals(List.of(), temporaries());
    }

    @Test
    void temporariesOfAKilledWriterAreNeverReadAndAreRemovedByTheNextWrite() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        Path checkpoints = run.resolve("checkpoints");
        Path partial = Files.createDirectories(checkpoints.resolve(".step-4." + java.util.UUID.randomUUID() + ".tmp"));
        Files.write(partial.resolve("model.zip"), new byte[] {'P', 'K', 3, 4});
        Files.writeString(checkpoints.resolve(".LATEST." + java.util.UUID.randomUUID() + ".tmp"), "step-4\n");
        Files.writeString(checkpoints.resolve(".keep"), "not Anneal's");

        assertEquals("step-3", store.readNewestValid(runDir, false).dir().getName());
        Path model = stepDir(3).resolve("model.zip");
        byte[] intact = Files.readAllBytes(model);
        replace(model, java.util.Arrays.copyOf(intact, 100));
        CheckpointException none = refused(() -> store.readNewestValid(runDir, false));
        assertFalse(none.getMessage().contains(".tmp"), "a temporary is never taken for a checkpoint, even when "
                + "nothing else is left: " + none.getMessage());
        replace(model, intact);

        store.writeStep(runDir, checkpoint(5));

        assertEquals(List.of(), temporaries());
        assertTrue(Files.exists(checkpoints.resolve(".keep")), "files that are not Anneal's temporaries stay");
        assertEquals(5, store.read(runDir, false).info().step());
    }

    @Test
    void latestOnTheLocalFilesystemHasNoChecksumSidecarThatAKillCouldLeaveStale() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        // An earlier Anneal wrote LATEST with a sidecar; the next replacement removes it rather than leave it stale.
        Path sidecar = run.resolve("checkpoints/.LATEST.crc");
        Files.write(sidecar, new byte[] {'c', 'r', 'c', 0, 0, 0, 2, 0, 1, 2, 3, 4});

        store.writeStep(runDir, checkpoint(4));

        assertFalse(Files.exists(sidecar));
        assertEquals(4, store.read(runDir, false).info().step());
    }

    private List<String> temporaries() throws IOException {
        try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
        }
    }

    @Test
    void flippedByteInModelIsRefusedNamingBothHashes() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        Path model = stepDir(3).resolve("model.zip");
        String expected = sha256(model);
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 0x01;
        replace(model, bytes);
        String actual = sha256(model);

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("model.zip"), e.getMessage());
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected hash in: " + e.getMessage());
        assertTrue(e.getMessage().contains(actual), "actual hash in: " + e.getMessage());
    }

    @Test
    void flippedByteCaughtByHadoopChecksumIsStillACheckpointErrorNamingTheFile() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        Path model = stepDir(3).resolve("model.zip");
        byte[] bytes = Files.readAllBytes(model);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(model, bytes);  // the .crc sidecar stays, as after a disk error

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("model.zip"), e.getMessage());
    }

    @Test
    void truncatedModelIsRefusedNamingTheSize() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        Path model = stepDir(3).resolve("model.zip");
        long size = Files.size(model);
        try (var ch = Files.newByteChannel(model, StandardOpenOption.WRITE)) {
            ch.truncate(size - 100);
        }

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("model.zip"), e.getMessage());
        assertTrue(e.getMessage().contains("size " + (size - 100)), e.getMessage());
        assertTrue(e.getMessage().contains("expected " + size), e.getMessage());
    }

    @Test
    void missingVocabularyIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        Files.delete(stepDir(3).resolve("vocab.json"));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void replacedVocabularyIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        byte[] other = CharVocabulary.fromCounts(Map.of((int) 'q', 1L), 5).toJson();
        replace(stepDir(3).resolve("vocab.json"), other);

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
    }

    @Test
    void plantedExtraFileIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        Files.write(stepDir(3).resolve("preprocessor.bin"), new byte[] {1, 2, 3});

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("preprocessor.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("not listed"), e.getMessage());
    }

    @Test
    void manifestNamingAFileOutsideTheCheckpointIsRefused() throws Exception {
        store.writeStep(runDir, checkpoint(3));
        Files.writeString(run.resolve("outside.txt"), "not part of any checkpoint");
        Path manifest = stepDir(3).resolve("manifest.json");
        Map<String, Object> m = readJson(manifest);
        @SuppressWarnings("unchecked")
        Map<String, Object> files = (Map<String, Object>) m.get("files");
        files.put("../../outside.txt", Map.of("sha256", sha256(run.resolve("outside.txt")),
                "bytes", Files.size(run.resolve("outside.txt"))));
        replace(manifest, JSON.writeValueAsBytes(m));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("'../../outside.txt'") && e.getMessage().contains("not a plain file name"),
                e.getMessage());
    }

    @Test
    void manifestOfAnotherFormatIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        Path manifest = stepDir(3).resolve("manifest.json");
        Map<String, Object> m = readJson(manifest);
        m.put("format", "keras-h5");
        replace(manifest, JSON.writeValueAsBytes(m));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("manifest.json"), e.getMessage());
        assertTrue(e.getMessage().contains("'keras-h5'"), e.getMessage());
    }

    @Test
    void manifestOfAnotherFormatVersionIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        Path manifest = stepDir(3).resolve("manifest.json");
        Map<String, Object> m = readJson(manifest);
        m.put("formatVersion", 2);
        replace(manifest, JSON.writeValueAsBytes(m));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("manifest.json"), e.getMessage());
        assertTrue(e.getMessage().contains("formatVersion 2"), e.getMessage());
    }

    @Test
    void manifestThatIsNotJsonIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        replace(stepDir(3).resolve("manifest.json"), "{ not json".getBytes(StandardCharsets.UTF_8));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("manifest.json"), e.getMessage());
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void directoryThatIsNoCheckpointIsRefused() throws IOException {
        Path empty = Files.createDirectories(tempDir.resolve("photos"));
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(empty.toUri());

        CheckpointException e = refused(() -> store.read(dir, true));

        assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not an Anneal checkpoint"), e.getMessage());
    }

    @Test
    void missingLocationIsRefused() {
        org.apache.hadoop.fs.Path nowhere = new org.apache.hadoop.fs.Path(tempDir.resolve("nowhere").toUri());

        CheckpointException e = refused(() -> store.read(nowhere, true));

        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
    }

    @Test
    void latestNamingGarbageIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        replace(run.resolve("checkpoints/LATEST"), "../../etc\n".getBytes(StandardCharsets.UTF_8));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("LATEST"), e.getMessage());
        assertTrue(e.getMessage().contains("'../../etc'"), e.getMessage());
    }

    @Test
    void latestNamingAMissingStepIsRefused() throws IOException {
        store.writeStep(runDir, checkpoint(3));
        replace(run.resolve("checkpoints/LATEST"), "step-99\n".getBytes(StandardCharsets.UTF_8));

        CheckpointException e = refused(() -> store.read(runDir, true));

        assertTrue(e.getMessage().contains("step-99"), e.getMessage());
    }
}

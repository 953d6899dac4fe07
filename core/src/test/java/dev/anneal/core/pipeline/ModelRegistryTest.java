package dev.anneal.core.pipeline;

import dev.anneal.core.InputException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model registry: numbered versions, an atomic CURRENT, one promotion log entry per runId, rerun-safe. */
class ModelRegistryTest {
    @TempDir
    java.nio.file.Path dir;

    private final Configuration conf = new Configuration();

    private ModelRegistry registry() {
        return new ModelRegistry(new Path(dir.resolve("models/spam").toUri()), conf);
    }

    /** A fine-tune output as FinetuneJob leaves it: model/ with files, metrics.json. */
    private java.nio.file.Path finetuneOutput(String name, double f1) throws IOException {
        java.nio.file.Path out = dir.resolve("runs/finetune/" + name);
        Files.createDirectories(out.resolve("model"));
        Files.writeString(out.resolve("model/model.zip"), "weights of " + name);
        Files.writeString(out.resolve("model/manifest.json"), "{}");
        Files.writeString(out.resolve("metrics.json"), "{\"test\":{\"f1\":" + f1 + "}}");
        return out;
    }

    private ModelRegistry.Version add(ModelRegistry r, String version, String runId, double f1) throws IOException {
        java.nio.file.Path out = finetuneOutput(runId, f1);
        return r.addVersion(version, new Path(out.resolve("model").toUri()), new Path(out.resolve("metrics.json")
                .toUri()), Map.of("runId", runId, "test", Map.of("f1", f1)));
    }

    @Test
    void versionsAreNumberedCopiedAndCurrentNamesOne() throws IOException {
        ModelRegistry r = registry();
        assertTrue(r.current().isEmpty());
        assertEquals("v0001", r.nextVersion());
        ModelRegistry.Version v1 = add(r, "v0001", "day1", 0.7);
        assertEquals("weights of day1", Files.readString(dir.resolve("models/spam/versions/v0001/model/model.zip")));
        assertTrue(Files.exists(dir.resolve("models/spam/versions/v0001/metrics.json")));
        assertEquals("day1", v1.runId());
        assertEquals("v0002", r.nextVersion());
        r.setCurrent("v0001");
        assertEquals("v0001\n", Files.readString(dir.resolve("models/spam/CURRENT")));
        assertEquals(0.7, r.current().orElseThrow().metric("f1"));
        add(r, "v0002", "day2", 0.8);
        r.setCurrent("v0002");
        assertEquals("day2", r.current().orElseThrow().runId());
        assertEquals(List.of("v0001", "v0002"), r.versions());
        assertThrows(IllegalStateException.class, () -> r.setCurrent("v0003"));
    }

    @Test
    void addingAVersionAgainForTheSameRunKeepsItAndRefusesAnotherRun() throws IOException {
        ModelRegistry r = registry();
        add(r, "v0001", "day1", 0.7);
        Files.writeString(dir.resolve("runs/finetune/day1/model/model.zip"), "changed after the copy");
        add(r, "v0001", "day1", 0.7);
        assertEquals("weights of day1", Files.readString(dir.resolve("models/spam/versions/v0001/model/model.zip")),
                "a rerun does not copy again");
        InputException e = assertThrows(InputException.class, () -> add(r, "v0001", "day2", 0.9));
        assertTrue(e.getMessage().contains("made by run day1"), e.getMessage());
    }

    @Test
    void aPartialCopyOfAKilledAttemptIsReplacedAndNeverCounted() throws IOException {
        ModelRegistry r = registry();
        java.nio.file.Path tmp = dir.resolve("models/spam/versions/.v0001.tmp/model");
        Files.createDirectories(tmp);
        Files.writeString(tmp.resolve("model.zip"), "half");
        assertTrue(r.versions().isEmpty());
        assertEquals("v0001", r.nextVersion());
        add(r, "v0001", "day1", 0.7);
        assertEquals("weights of day1", Files.readString(dir.resolve("models/spam/versions/v0001/model/model.zip")));
        assertFalse(Files.exists(dir.resolve("models/spam/versions/.v0001.tmp")));
    }

    @Test
    void theLogHoldsOneEntryPerRunIdRejectionsIncluded() {
        ModelRegistry r = registry();
        assertTrue(r.logPromotion(Map.of("runId", "day1", "decision", "promoted")));
        assertTrue(r.logPromotion(Map.of("runId", "day2", "decision", "rejected")));
        assertFalse(r.logPromotion(Map.of("runId", "day2", "decision", "rejected")), "logged once");
        List<Map<String, Object>> log = r.promotions();
        assertEquals(2, log.size());
        assertEquals("rejected", r.promotionOf("day2").orElseThrow().get("decision"));
        assertEquals("day1", log.get(0).get("runId"));
    }

    @Test
    void aCurrentPointerThatNamesNothingIsAnErrorNamingTheFile() throws IOException {
        Files.createDirectories(dir.resolve("models/spam"));
        Files.writeString(dir.resolve("models/spam/CURRENT"), "v0007\n");
        InputException e = assertThrows(InputException.class, () -> registry().current());
        assertTrue(e.getMessage().contains("CURRENT") && e.getMessage().contains("v0007"), e.getMessage());
        Files.writeString(dir.resolve("models/spam/CURRENT"), "latest\n");
        assertThrows(InputException.class, () -> registry().current());
    }
}

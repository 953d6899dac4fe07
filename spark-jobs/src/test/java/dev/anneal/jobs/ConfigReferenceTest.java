package dev.anneal.jobs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docs/CONFIG.md is the reference users read; it must say what the code does. */
class ConfigReferenceTest {
    @Test
    void docsMatchTheConfigDescriptions() throws IOException {
        Path doc = Path.of("..", "docs", "CONFIG.md");
        assertEquals(ConfigReference.markdown(), Files.readString(doc),
                "docs/CONFIG.md is stale; regenerate it with scripts/config-reference");
    }
}

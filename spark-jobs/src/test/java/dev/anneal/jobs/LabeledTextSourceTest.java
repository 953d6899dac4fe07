package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.data.LabeledTextSource;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Labeled records from JSON Lines and Parquet; bad records stop the job naming the first and counting all. */
class LabeledTextSourceTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @TempDir
    Path dir;

    private List<LabeledText> read(Path file) {
        boolean parquet = LabeledTextSource.isParquet(file.toString(), new Configuration());
        return LabeledTextSource.read(SPARK.session(), file.toString(), "text", "label", parquet).collect();
    }

    private Path jsonl(String... lines) throws IOException {
        Path f = dir.resolve("records.jsonl");
        Files.write(f, List.of(lines));
        return f;
    }

    @Test
    void readsJsonLines() throws IOException {
        List<LabeledText> records = read(jsonl("{\"id\":\"a\",\"text\":\"cheap pills\",\"label\":1}",
                "{\"id\":\"b\",\"text\":\"meeting at 3\",\"label\":0}"));
        assertEquals(List.of(new LabeledText("cheap pills", 1), new LabeledText("meeting at 3", 0)), records);
    }

    @Test
    void readsParquetWrittenBySpark() throws IOException {
        Path json = jsonl("{\"text\":\"win money\",\"label\":1}", "{\"text\":\"lunch?\",\"label\":0}");
        Path parquet = dir.resolve("records.parquet");
        SPARK.session().read().json(json.toString()).write().parquet(parquet.toString());
        assertTrue(LabeledTextSource.isParquet(parquet.toString(), new Configuration()));
        assertEquals(2, read(parquet).size());
    }

    @Test
    void labelOutsideZeroOneNamesTheRecord() throws IOException {
        Path f = jsonl("{\"id\":\"ok\",\"text\":\"fine\",\"label\":0}",
                "{\"id\":\"msg-7\",\"text\":\"odd\",\"label\":2}",
                "{\"id\":\"msg-9\",\"text\":\"odder\",\"label\":\"spam\"}");
        InputException e = assertThrows(InputException.class, () -> read(f));
        assertTrue(e.getMessage().contains("2 record(s)") && e.getMessage().contains("msg-"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertEquals(3, e.exitCode());
    }

    @Test
    void blankTextAndBrokenJsonAreBadRecords() throws IOException {
        InputException blank = assertThrows(InputException.class,
                () -> read(jsonl("{\"text\":\"   \",\"label\":0}", "{\"text\":\"x\",\"label\":1}")));
        assertTrue(blank.getMessage().contains("1 record(s)"), blank.getMessage());

        InputException broken = assertThrows(InputException.class,
                () -> read(jsonl("{\"text\":\"good\",\"label\":0}", "{\"text\": \"unterminated")));
        assertTrue(broken.getMessage().contains("not valid JSON") && broken.getMessage().contains("unterminated"),
                broken.getMessage());
    }

    @Test
    void missingFieldNamesTheFieldAndTheFieldsThatExist() throws IOException {
        InputException e = assertThrows(InputException.class, () -> read(jsonl("{\"body\":\"x\",\"label\":0}")));
        assertTrue(e.getMessage().contains("no field 'text'") && e.getMessage().contains("body"), e.getMessage());
    }

    @Test
    void missingInputIsNamed() {
        InputException e = assertThrows(InputException.class,
                () -> LabeledTextSource.isParquet(dir.resolve("nope.jsonl").toString(), new Configuration()));
        assertTrue(e.getMessage().contains("nope.jsonl"));
        assertFalse(Files.exists(dir.resolve("nope.jsonl")));
    }
}

package dev.anneal.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.anneal.core.AnnealException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigSchemaTest {

    private static final List<String> PRETRAIN_REQUIRED = List.of("input=/data/corpus", "output=/runs/r1");
    private static final List<String> FINETUNE_REQUIRED =
            List.of("input=/data/labeled.jsonl", "output=/runs/f1", "checkpoint=/runs/r1");

    @TempDir
    Path tempDir;

    private Path yaml(String name, String text) throws IOException {
        Path file = tempDir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private static ConfigException configError(Runnable load) {
        ConfigException e = assertThrows(ConfigException.class, load::run);
        assertEquals(AnnealException.EXIT_USAGE, e.exitCode(), "config errors exit with 2");
        return e;
    }

    @Test
    void nestedMapsAndDottedKeysLoadTheSameValues() throws IOException {
        Path nested = yaml("nested.yaml", """
                input: /data/corpus
                output: /runs/r1
                seed: 7
                text:
                  windowLength: 32
                model:
                  hiddenSize: 16
                  layers: 2
                training:
                  epochs: 9
                  batchSize: 8
                  learningRate: 0.01
                """);
        Path dotted = yaml("dotted.yaml", """
                input: /data/corpus
                output: /runs/r1
                seed: 7
                text.windowLength: 32
                model.hiddenSize: 16
                model.layers: 2
                training.epochs: 9
                training.batchSize: 8
                training.learningRate: 0.01
                """);

        PretrainConfig a = PretrainConfig.SCHEMA.load(nested, List.of());
        PretrainConfig b = PretrainConfig.SCHEMA.load(dotted, List.of());

        assertEquals(a, b);
        assertEquals("/data/corpus", a.input());
        assertEquals(7L, a.seed());
        assertEquals(32, a.windowLength());
        assertEquals(16, a.hiddenSize());
        assertEquals(2, a.layers());
        assertEquals(9, a.training().epochs());
        assertEquals(8, a.training().batchSize());
        assertEquals(0.01, a.training().learningRate());
        // keys the file leaves out keep their defaults
        assertEquals(160, a.vocabularySize());
        assertEquals(32, a.embeddingSize());
    }

    @Test
    void setOverridesWinOverTheFileAndApplyInOrder() throws IOException {
        Path file = yaml("pretrain.yaml", """
                input: /data/corpus
                output: /runs/r1
                training:
                  batchSize: 8
                  epochs: 9
                """);

        PretrainConfig c = PretrainConfig.SCHEMA.load(file,
                List.of("training.batchSize=64", "output=/runs/other", "training.epochs=2", "training.epochs=5"));

        assertEquals(64, c.training().batchSize());
        assertEquals("/runs/other", c.output());
        assertEquals(5, c.training().epochs(), "the last --set of a key wins");
        assertEquals("/data/corpus", c.input());
    }

    @Test
    void overridesAloneWorkWithoutAFileAndParseEveryType() {
        FinetuneConfig c = FinetuneConfig.SCHEMA.load(null, List.of("input=/in", "output=/out", "checkpoint=/ck",
                "seed=12345678901", "task.pooling=max", "task.freeze=embedding, lstm_0", "task.threshold=0.3",
                "training.learningRate=1e-4"));

        assertEquals(12345678901L, c.seed());
        assertEquals("max", c.pooling());
        assertEquals(List.of("embedding", "lstm_0"), c.freeze());
        assertEquals(0.3, c.threshold());
        assertEquals(1e-4, c.training().learningRate());
    }

    @Test
    void unknownYamlKeyIsNamedWithTheClosestKnownKey() throws IOException {
        Path file = yaml("typo.yaml", """
                input: /data/corpus
                training:
                  batchSzie: 16
                """);

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(file, PRETRAIN_REQUIRED));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'training.batchSzie'"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean 'training.batchSize'"), e.getMessage());
    }

    @Test
    void unknownSetKeyIsNamedWithTheClosestKnownKey() {
        ConfigException e = configError(() -> FinetuneConfig.SCHEMA.load(null,
                List.of("input=/in", "output=/out", "checkpoint=/ck", "task.poolng=max")));

        assertTrue(e.getMessage().startsWith("--set"), e.getMessage());
        assertTrue(e.getMessage().contains("'task.poolng'"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean 'task.pooling'"), e.getMessage());
    }

    @Test
    void unknownKeyFarFromEveryKnownOneSuggestsNothing() {
        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(null, List.of("zzzzzzzzzzzz=1")));

        assertTrue(e.getMessage().contains("'zzzzzzzzzzzz'"), e.getMessage());
        assertFalse(e.getMessage().contains("did you mean"), e.getMessage());
    }

    @Test
    void setWithoutEqualsSignIsRefused() {
        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(null, List.of("training.epochs")));

        assertTrue(e.getMessage().contains("training.epochs"), e.getMessage());
        assertTrue(e.getMessage().contains("key=value"), e.getMessage());
    }

    @Test
    void wrongTypeInYamlNamesTheKeyAndTheBadValue() throws IOException {
        Path file = yaml("types.yaml", """
                training:
                  epochs: three
                """);

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(file, PRETRAIN_REQUIRED));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("training.epochs must be an integer"), e.getMessage());
        assertTrue(e.getMessage().contains("'three'"), e.getMessage());
    }

    @Test
    void wrongTypesInSetNameTheKeyAndTheBadValue() {
        ConfigException decimal = configError(() -> PretrainConfig.SCHEMA.load(null,
                concat(PRETRAIN_REQUIRED, "training.learningRate=fast")));
        assertTrue(decimal.getMessage().contains("training.learningRate must be a number"), decimal.getMessage());
        assertTrue(decimal.getMessage().contains("'fast'"), decimal.getMessage());

        ConfigException fractional = configError(() -> PretrainConfig.SCHEMA.load(null,
                concat(PRETRAIN_REQUIRED, "training.batchSize=2.5")));
        assertTrue(fractional.getMessage().contains("training.batchSize must be an integer"),
                fractional.getMessage());
        assertTrue(fractional.getMessage().contains("'2.5'"), fractional.getMessage());

        ConfigException choice = configError(() -> FinetuneConfig.SCHEMA.load(null,
                concat(FINETUNE_REQUIRED, "task.pooling=median")));
        assertTrue(choice.getMessage().contains("task.pooling must be one of mean | max | last"),
                choice.getMessage());
        assertTrue(choice.getMessage().contains("'median'"), choice.getMessage());
    }

    @Test
    void mapWhereAScalarBelongsIsRefused() throws IOException {
        Path file = yaml("list.yaml", """
                training:
                  epochs: [1, 2]
                """);

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(file, PRETRAIN_REQUIRED));

        assertTrue(e.getMessage().contains("training.epochs must be an integer, got a list"), e.getMessage());
    }

    @Test
    void validationErrorNamesTheFieldAndTheRule() {
        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(null,
                concat(PRETRAIN_REQUIRED, "training.batchSize=-3")));

        assertTrue(e.getMessage().contains("training.batchSize must be > 0, got -3"), e.getMessage());
    }

    @Test
    void validationOfFractionsAndTheirSum() {
        ConfigException fraction = configError(() -> FinetuneConfig.SCHEMA.load(null,
                concat(FINETUNE_REQUIRED, "split.testFraction=1.5")));
        assertTrue(fraction.getMessage().contains("split.testFraction must be in [0, 1), got 1.5"),
                fraction.getMessage());

        ConfigException sum = configError(() -> FinetuneConfig.SCHEMA.load(null,
                concat(FINETUNE_REQUIRED, "split.validationFraction=0.5", "split.testFraction=0.5")));
        assertTrue(sum.getMessage().contains("split.validationFraction + split.testFraction must be < 1"),
                sum.getMessage());
    }

    @Test
    void missingRequiredInputNamesTheFlag() {
        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(null, List.of("output=/runs/r1")));
        assertTrue(e.getMessage().contains("input is required"), e.getMessage());
        assertTrue(e.getMessage().contains("--input"), e.getMessage());

        ConfigException ck = configError(() -> FinetuneConfig.SCHEMA.load(null,
                List.of("input=/in", "output=/out")));
        assertTrue(ck.getMessage().contains("--checkpoint"), ck.getMessage());
    }

    @Test
    void defaultsAloneFailOnTheFirstRequiredKey() {
        ConfigException e = configError(PretrainConfig.SCHEMA::defaults);
        assertTrue(e.getMessage().contains("--input"), e.getMessage());
    }

    @Test
    void invalidYamlNamesTheFileAndLine() throws IOException {
        Path file = yaml("broken.yaml", """
                input: /data/corpus
                output: /runs/r1
                training: [unclosed
                """);

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(file, List.of()));

        assertTrue(e.getMessage().startsWith(file + " line "), e.getMessage());
        assertTrue(e.getMessage().contains("not valid YAML"), e.getMessage());
        int line = Integer.parseInt(e.getMessage().substring((file + " line ").length()).split(":")[0].trim());
        assertTrue(line >= 3 && line <= 4, "the error is on line 3 (or the end of the file right after it): "
                + e.getMessage());
    }

    @Test
    void yamlWhoseTopLevelIsNotAMapIsRefused() throws IOException {
        Path file = yaml("list.yaml", "- input\n- output\n");

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(file, PRETRAIN_REQUIRED));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("map"), e.getMessage());
    }

    @Test
    void missingFileIsNamed() {
        Path missing = tempDir.resolve("nope.yaml");

        ConfigException e = configError(() -> PretrainConfig.SCHEMA.load(missing, PRETRAIN_REQUIRED));

        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void emptyOrCommentOnlyYamlFileMeansDefaults() throws IOException {
        PretrainConfig expected = PretrainConfig.SCHEMA.load(null, PRETRAIN_REQUIRED);

        assertEquals(expected, PretrainConfig.SCHEMA.load(yaml("empty.yaml", ""), PRETRAIN_REQUIRED));
        assertEquals(expected, PretrainConfig.SCHEMA.load(
                yaml("comments.yaml", "# every key at its default\n# training:\n#   epochs: 3\n"), PRETRAIN_REQUIRED));
        assertEquals(expected, PretrainConfig.SCHEMA.load(yaml("null.yaml", "---\n~\n"), PRETRAIN_REQUIRED));
    }

    @Test
    void helpListsEveryKeyWithItsDefaultAndDescription() {
        for (ConfigSchema<?> schema : List.of(PretrainConfig.SCHEMA, FinetuneConfig.SCHEMA)) {
            String help = schema.help();
            List<String> lines = help.lines().toList();
            assertEquals(2 * schema.fields().size(), lines.size(), schema.job() + ": two lines per key");
            for (ConfigField f : schema.fields()) {
                String keyLine = lines.stream()
                        .filter(l -> l.trim().startsWith(f.key() + " "))
                        .findFirst()
                        .orElseGet(() -> fail(schema.job() + " --help lacks " + f.key() + ":\n" + help));
                assertTrue(keyLine.contains("(default: " + f.defaultText() + ")"), keyLine);
                assertTrue(keyLine.contains(f.typeName()), keyLine);
                int next = lines.indexOf(keyLine) + 1;
                assertEquals(f.description(), lines.get(next).trim(), "description under " + f.key());
            }
        }
        String help = PretrainConfig.SCHEMA.help();
        assertTrue(help.contains("(default: 160)"), "text.vocabularySize default shown");
        assertTrue(help.contains("(default: (none)"), "empty defaults are shown as (none)");
        assertTrue(FinetuneConfig.SCHEMA.help().contains("(default: [embedding])"), "list defaults shown as lists");
    }

    @Test
    void markdownHasOneRowPerField() {
        for (ConfigSchema<?> schema : List.of(PretrainConfig.SCHEMA, FinetuneConfig.SCHEMA)) {
            List<String> lines = schema.markdown().lines().toList();
            assertEquals("| key | type | default | description |", lines.get(0));
            assertEquals(schema.fields().size() + 2, lines.size(), schema.job());
            for (ConfigField f : schema.fields()) {
                long rows = lines.stream().filter(l -> l.startsWith("| `" + f.key() + "` |")).count();
                assertEquals(1, rows, schema.job() + " markdown rows for " + f.key());
            }
            for (String row : lines.subList(2, lines.size())) {
                // a row of four cells has five unescaped pipes: a '|' inside a cell must be escaped
                assertEquals(6, row.split("(?<!\\\\)\\|", -1).length, schema.job() + ": four cells in " + row);
            }
        }
    }

    @Test
    void closestKeyFindsTranspositionsAndEditDistanceIsSymmetric() {
        assertEquals("training.batchSize", PretrainConfig.SCHEMA.closestKey("training.batchSzie"));
        assertEquals("training.batchSize", PretrainConfig.SCHEMA.closestKey("Training.BatchSize"));
        assertEquals(2, ConfigSchema.editDistance("batchSzie", "batchSize"));
        assertEquals(3, ConfigSchema.editDistance("kitten", "sitting"));
        assertEquals(3, ConfigSchema.editDistance("sitting", "kitten"));
        assertEquals(0, ConfigSchema.editDistance("", ""));
    }

    /**
     * Every shipped config under conf/ loads against the schema its file name names, once the paths a user must give
     * on the command line are supplied.
     */
    @Test
    void everyShippedYamlLoadsAgainstItsSchema() throws IOException {
        Path conf = Path.of("..", "conf").toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(conf), "no conf/ directory at " + conf);
        List<Path> yamls;
        try (Stream<Path> s = Files.list(conf)) {
            yamls = s.filter(p -> p.getFileName().toString().matches(".*\\.ya?ml")).sorted().toList();
        }
        List<String> names = yamls.stream().map(p -> p.getFileName().toString()).toList();
        assertTrue(names.contains("pretrain.yaml"), "conf/pretrain.yaml is missing; found " + names);
        assertTrue(names.contains("finetune.yaml"), "conf/finetune.yaml is missing; found " + names);

        List<String> loaded = new ArrayList<>();
        for (Path yaml : yamls) {
            String name = yaml.getFileName().toString();
            if (name.startsWith("pretrain")) {
                assertNotNull(PretrainConfig.SCHEMA.load(yaml, PRETRAIN_REQUIRED), name);
            } else if (name.startsWith("finetune")) {
                assertNotNull(FinetuneConfig.SCHEMA.load(yaml, FINETUNE_REQUIRED), name);
            } else if (name.startsWith("ingest")) {
                assertNotNull(IngestConfig.SCHEMA.load(yaml, List.of("input=raw", "output=dataset")), name);
            } else if (name.startsWith("pipeline")) {
                assertNotNull(PipelineConfig.SCHEMA.load(yaml, List.of("runId=2026-11-30", "slice=raw")), name);
            } else {
                fail("conf/" + name + " names no job (pretrain*.yaml, finetune*.yaml, ingest*.yaml or "
                        + "pipeline*.yaml), so no schema checks it");
            }
            loaded.add(name);
        }
        assertEquals(names, loaded);
    }

    private static List<String> concat(List<String> base, String... more) {
        List<String> all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all;
    }
}

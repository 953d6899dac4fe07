package dev.anneal.jobs;

import dev.anneal.core.config.ConfigSchema;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.config.PretrainConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes docs/CONFIG.md, the config reference, from the same field descriptions {@code --help} prints, so the two
 * never drift: {@code java -cp ... dev.anneal.jobs.ConfigReference docs/CONFIG.md}.
 */
public final class ConfigReference {
    private static final List<ConfigSchema<?>> SCHEMAS = List.of(IngestConfig.SCHEMA, PretrainConfig.SCHEMA,
            FinetuneConfig.SCHEMA, EvaluateConfig.SCHEMA, PredictConfig.SCHEMA, PipelineConfig.SCHEMA);

    private ConfigReference() {
    }

    public static String markdown() {
        StringBuilder sb = new StringBuilder("""
                # Config reference

                Generated from the config descriptions by `dev.anneal.jobs.ConfigReference` (a test fails when this
                file and the code disagree). Keys are read from a YAML file (`--config`, nested maps or dotted
                names), then `--set key=value` overrides, then the path flags (`--input`, `--output`,
                `--checkpoint`, `--master`). Unknown keys are errors. `anneal <command> --help` prints the same.
                """);
        for (ConfigSchema<?> schema : SCHEMAS) {
            sb.append("\n## ").append(schema.job()).append("\n\n").append(schema.markdown());
        }
        return sb.toString();
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "docs/CONFIG.md");
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, markdown());
        System.out.println("wrote " + out);
    }
}

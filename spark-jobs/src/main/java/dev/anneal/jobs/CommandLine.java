package dev.anneal.jobs;

import dev.anneal.core.config.ConfigException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The parsed command line: {@code anneal <command> [--config FILE] [--set key=value ...] [--input URI]
 * [--output URI] [--checkpoint URI] [--master URL] [--overwrite] [--allow-fallback] [--help]}. The path flags become {@code --set}
 * overrides of the config's keys, applied last.
 */
public record CommandLine(String command, Optional<Path> configFile, List<String> overrides, boolean overwrite,
                          boolean allowFallback, boolean help) {
    public static final List<String> COMMANDS = List.of("ingest", "pretrain", "finetune", "evaluate",
            "predict", "pipeline", "demo", "report");

    public static CommandLine parse(String[] args) {
        if (args.length == 0) {
            return new CommandLine("", Optional.empty(), List.of(), false, false, false);
        }
        String command = args[0];
        if (command.equals("--help") || command.equals("-h") || command.equals("help")) {
            return new CommandLine("", Optional.empty(), List.of(), false, false, true);
        }
        if (!COMMANDS.contains(command)) {
            throw new ConfigException("unknown command '" + command + "'; commands: " + String.join(", ", COMMANDS));
        }
        Optional<Path> config = Optional.empty();
        List<String> sets = new ArrayList<>();
        List<String> pathFlags = new ArrayList<>();
        boolean overwrite = false;
        boolean allowFallback = false;
        boolean help = false;
        boolean pipeline = command.equals("pipeline");
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help", "-h" -> help = true;
                case "--overwrite" -> overwrite = true;
                case "--allow-fallback" -> {
                    if (!command.equals("finetune")) {
                        throw new ConfigException("--allow-fallback is a finetune option");
                    }
                    allowFallback = true;
                }
                case "--config" -> config = Optional.of(Path.of(value(args, ++i, a)));
                case "--set" -> sets.add(value(args, ++i, a));
                // A pipeline's input is the slice it ingests and its output the pipeline directory.
                case "--input" -> pathFlags.add((pipeline ? "slice=" : "input=") + value(args, ++i, a));
                case "--output" -> pathFlags.add((pipeline ? "root=" : "output=") + value(args, ++i, a));
                case "--checkpoint" -> pathFlags.add("checkpoint=" + value(args, ++i, a));
                case "--master" -> pathFlags.add("spark.master=" + value(args, ++i, a));
                default -> throw new ConfigException("unknown option '" + a + "' for " + command
                        + " (anneal " + command + " --help lists the options)");
            }
        }
        sets.addAll(pathFlags);
        return new CommandLine(command, config, List.copyOf(sets), overwrite, allowFallback, help);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new ConfigException(flag + " needs a value");
        }
        return args[i];
    }
}

package dev.anneal.jobs;

import dev.anneal.core.AnnealException;
import dev.anneal.core.config.ConfigSchema;
import dev.anneal.core.config.EvaluateConfig;
import dev.anneal.core.config.PredictConfig;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.IngestConfig;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.jobs.ingest.IngestJob;
import dev.anneal.jobs.pipeline.PipelineJob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;

/**
 * The {@code anneal} command: parses the command line, validates the job's config before Spark starts, runs the job
 * and exits with the code DESIGN.md gives (0 done, 2 usage or config, 3 bad input or checkpoint, 4 diverged, 1 other).
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.exit(code);
    }

    /** Runs a command and returns its exit code; messages go to {@code out} and {@code err}. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        try {
            if (args.length > 0 && args[0].equals("report")) {
                return report(args, out, err);
            }
            CommandLine cli = CommandLine.parse(args);
            if (cli.command().isEmpty() && !cli.help()) {
                err.print(usage(""));
                return AnnealException.EXIT_USAGE;
            }
            if (cli.help()) {
                out.print(usage(cli.command()));
                return 0;
            }
            switch (cli.command()) {
                case "ingest" -> {
                    IngestConfig config = IngestConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    out.print(IngestJob.describe(IngestJob.run(config, cli.overwrite())));
                }
                case "pretrain" -> {
                    PretrainConfig config = PretrainConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    PretrainJob.Result r = PretrainJob.run(config, cli.overwrite());
                    out.printf("pretrain done: validation loss %.4f -> %.4f nats/%s over %d epoch(s), "
                                    + "%.0f %s/s; checkpoint %s%n", r.firstLoss(), r.lastLoss(), r.example(),
                            r.epochs().size(), r.samplesPerSecond(), r.example().equals("char") ? "windows" : "images",
                            r.checkpoint());
                }
                case "finetune" -> {
                    FinetuneConfig config = FinetuneConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    FinetuneJob.Result r = FinetuneJob.run(config, cli.overwrite(), cli.allowFallback());
                    if (r.test() == null) {
                        out.printf("finetune done from checkpoint %s: %s task, test %s (constant baseline %s); "
                                + "model %s, metrics %s%n", r.checkpoint(), r.metrics().get("task"),
                                r.metrics().get("test"), r.metrics().get("baseline"), r.model(), r.metricsFile());
                        return 0;
                    }
                    out.printf("finetune done from checkpoint %s: test F1 %.4f (majority baseline %.4f), accuracy %.4f (baseline %.4f), "
                                    + "AUC %.4f; model %s, metrics %s%n", r.checkpoint(), r.test().counts().f1(), r.baseline().f1(),
                            r.test().counts().accuracy(), r.baseline().accuracy(), r.test().auc(), r.model(),
                            r.metricsFile());
                }
                case "evaluate" -> {
                    EvaluateConfig config = EvaluateConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    EvaluateJob.Result r = EvaluateJob.run(config, cli.overwrite());
                    out.printf("evaluate done: %d records scored, %d quarantined; %s; metrics %s/%s%n", r.scored(),
                            r.quarantined(), EvaluateJob.headline(r.metrics()), r.output(), EvaluateJob.METRICS);
                }
                case "predict" -> {
                    PredictConfig config = PredictConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    PredictJob.Result r = PredictJob.run(config, cli.overwrite());
                    out.printf("predict done: %d rows scored, %d quarantined, %.0f rows/s; predictions %s/%s%n",
                            r.scored(), r.quarantined(), (r.scored() + r.quarantined()) / r.seconds(), r.output(),
                            PredictJob.PREDICTIONS);
                }
                case "pipeline" -> {
                    PipelineConfig config = PipelineConfig.SCHEMA.load(cli.configFile().orElse(null), cli.overrides());
                    out.print(PipelineJob.describe(PipelineJob.run(config)));
                }
                case "demo" -> {
                    DemoJob.Result r = DemoJob.run(DemoJob.Options.from(cli));
                    out.print(r.summary());
                }
                default -> throw new IllegalStateException(cli.command());
            }
            return 0;
        } catch (AnnealException e) {
            err.println("anneal: " + e.getMessage());
            LOG.debug("failure", e);
            return e.exitCode();
        } catch (RuntimeException | Error e) {
            AnnealException cause = findCause(e);
            if (cause != null) {
                err.println("anneal: " + cause.getMessage());
                return cause.exitCode();
            }
            err.println("anneal: unexpected error: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    /** {@code anneal report RUN_DIR}: writes RUN_DIR/report.html from what the run left there; no Spark. */
    private static int report(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 2 && (args[1].equals("--help") || args[1].equals("-h"))) {
            out.print(usage("report"));
            return 0;
        }
        if (args.length != 2 || args[1].startsWith("--")) {
            err.print("anneal: report takes one run directory\n" + usage("report"));
            return AnnealException.EXIT_USAGE;
        }
        out.println("report written: " + dev.anneal.jobs.report.RunReport.write(args[1],
                new org.apache.hadoop.conf.Configuration()));
        return 0;
    }

    /** Spark wraps what an executor threw; an Anneal error inside still decides the message and exit code. */
    private static AnnealException findCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AnnealException a) {
                return a;
            }
        }
        return null;
    }

    static String usage(String command) {
        StringBuilder sb = new StringBuilder();
        if (command.isEmpty()) {
            sb.append("""
                    usage: anneal <command> [--config FILE] [--set key=value ...] [--input URI] [--output URI]
                                  [--checkpoint URI] [--master URL] [--overwrite] [--allow-fallback] [--help]

                    commands:
                      ingest     turn raw text, labeled records or IDX images into a dataset of Parquet shards
                      pretrain   train a character-level LSTM language model on a text corpus
                      finetune   turn a pretrained checkpoint into a text classifier or regressor
                      evaluate   measure a fine-tuned model on a labeled table (metrics.json)
                      predict    score a table with a fine-tuned model (Parquet predictions)
                      pipeline   one scheduled run: ingest a slice, continue pretraining, fine-tune, promote
                      demo       pretrain on data-samples/text, fine-tune a spam classifier, print a summary
                      report     write RUN_DIR/report.html (curves, metrics, checkpoints, config) for a run directory

                    anneal <command> --help lists the command's config keys.
                    exit codes: 0 done, 2 usage or config error, 3 bad input or checkpoint, 4 training diverged,
                    1 anything else.
                    """);
            return sb.toString();
        }
        if (command.equals("report")) {
            return "usage: anneal report RUN_DIR\n\nWrites RUN_DIR/report.html, one self-contained page: loss and "
                    + "validation curves,\nfinal metrics, confusion matrix, checkpoints, data summary and config, "
                    + "from RUN_DIR's\nmetrics.jsonl, metrics.json and checkpoint manifests. Every pretrain and "
                    + "finetune writes it\nat its end too.\n";
        }
        sb.append("usage: anneal ").append(command).append(switch (command) {
            case "ingest" -> " --input RAW --output DATASET_DIR [--config FILE] [--set key=value ...] [--overwrite]\n"
                    + "\nOverrides: --input, --output, --master set the keys input, output, spark.master.\n"
                    + "An --output that holds a dataset gets the input appended as a new slice; --overwrite replaces it.\n";
            case "pretrain" -> " --input TEXT --output RUN_DIR [--config FILE] [--set key=value ...] [--overwrite]\n"
                    + "\nOverrides: --input, --output, --master set the keys input, output, spark.master.\n"
                    + "An --output that holds checkpoints is continued from its latest one.\n";
            case "finetune" -> " --input LABELED --checkpoint CKPT --output DIR [--config FILE] [--set key=value ...]"
                    + " [--overwrite] [--allow-fallback]\n\nOverrides: --input, --output, --checkpoint, --master set the"
                    + " keys of the same name (spark.master).\n--allow-fallback: when the checkpoint LATEST names is"
                    + " damaged, use the newest valid one of the run and say which.\n";
            case "evaluate" -> " --input LABELED --checkpoint MODEL --output DIR [--config FILE] [--set key=value ...]"
                    + " [--overwrite]\n\nOverrides: --input, --output, --checkpoint, --master set the keys of the same"
                    + " name (spark.master).\nWrites DIR/metrics.json and DIR/quarantine/ (rows it could not score)"
                    + " all or nothing.\n";
            case "predict" -> " --input TABLE --checkpoint MODEL --output DIR [--config FILE] [--set key=value ...]"
                    + " [--overwrite]\n\nOverrides: --input, --output, --checkpoint, --master set the keys of the same"
                    + " name (spark.master).\nWrites DIR/predictions/ (Parquet), DIR/quarantine/ and DIR/summary.json"
                    + " all or nothing.\n";
            case "pipeline" -> " --set runId=ID --input SLICE --output PIPELINE_DIR [--config FILE]"
                    + " [--set key=value ...]\n\nOverrides: --input sets slice, --output sets root, --master sets"
                    + " spark.master.\nA rerun of a runId resumes it where it stopped, or does nothing when it is"
                    + " complete.\nExit code 1 when another live run holds PIPELINE_DIR/pipeline.lock.\n";
            default -> " [--output DIR] [--master URL] [--overwrite] [--set pretrain.KEY=V] [--set finetune.KEY=V]\n"
                    + "\nRuns pretrain and finetune on data-samples/ (default output work/demo, replaced on rerun).\n"
                    + "Keys are those of pretrain and finetune, prefixed.\n";
        });
        sb.append("\nconfig keys:\n");
        if (command.equals("ingest")) {
            sb.append(schemaHelp(IngestConfig.SCHEMA, false));
        }
        if (command.equals("pipeline")) {
            sb.append(schemaHelp(PipelineConfig.SCHEMA, false));
        }
        if (command.equals("evaluate")) {
            sb.append(schemaHelp(EvaluateConfig.SCHEMA, false));
        }
        if (command.equals("predict")) {
            sb.append(schemaHelp(PredictConfig.SCHEMA, false));
        }
        if (command.equals("pretrain") || command.equals("demo")) {
            sb.append(schemaHelp(PretrainConfig.SCHEMA, command.equals("demo")));
        }
        if (command.equals("finetune") || command.equals("demo")) {
            sb.append(schemaHelp(FinetuneConfig.SCHEMA, command.equals("demo")));
        }
        return sb.toString();
    }

    private static String schemaHelp(ConfigSchema<?> schema, boolean prefixed) {
        return (prefixed ? "\n" + schema.job() + ".*\n" : "") + schema.help();
    }
}

package dev.anneal.jobs;

import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.FinetuneConfig;
import dev.anneal.core.config.PretrainConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The end-to-end demo: pretrain the language model on {@code data-samples/text}, fine-tune a spam classifier on
 * {@code data-samples/spam/emails.jsonl} from its checkpoint, and summarise both. Its default output directory is
 * replaced on every run; any other output is treated like a job's.
 */
public final class DemoJob {
    static final String MARKER = "ANNEAL_DEMO";

    private DemoJob() {
    }

    /** Where the demo reads and writes, and the per-job overrides ({@code pretrain.KEY=V}, {@code finetune.KEY=V}). */
    public record Options(String home, String output, boolean overwrite, List<String> pretrainSets,
                          List<String> finetuneSets) {
        static Options from(CommandLine cli) {
            if (cli.configFile().isPresent()) {
                throw new ConfigException("demo takes no --config; use --set pretrain.KEY=V or --set finetune.KEY=V");
            }
            String home = System.getProperty("anneal.home", ".");
            String output = null;
            List<String> pre = new ArrayList<>();
            List<String> fine = new ArrayList<>();
            for (String s : cli.overrides()) {
                if (s.startsWith("output=")) {
                    output = s.substring("output=".length());
                } else if (s.startsWith("spark.master=")) {
                    pre.add(s);
                    fine.add(s);
                } else if (s.startsWith("pretrain.")) {
                    pre.add(s.substring("pretrain.".length()));
                } else if (s.startsWith("finetune.")) {
                    fine.add(s.substring("finetune.".length()));
                } else {
                    throw new ConfigException("demo: --set " + s + ": prefix the key with pretrain. or finetune."
                            + " (--input and --checkpoint are not demo options)");
                }
            }
            return new Options(home, output, cli.overwrite(), pre, fine);
        }
    }

    /** Both jobs' results and the demo's wall time. */
    public record Result(String output, PretrainJob.Result pretrain, FinetuneJob.Result finetune, double seconds) {
        public String summary() {
            var t = finetune.test();
            var b = finetune.baseline();
            return String.format("""

                    Anneal demo (%s)
                      pretraining  %d windows, validation loss %.4f -> %.4f nats/char (epoch 1 -> %d), %.0f windows/s
                      checkpoint   %s
                      spam classifier on %d test e-mails:
                                   accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f  AUC %.4f
                      baseline     majority class: accuracy %.4f  F1 %.4f
                      model        %s
                      metrics      %s
                      wall time    %s
                    """, output, pretrain.trainWindows(), pretrain.firstLoss(), pretrain.lastLoss(),
                    pretrain.epochs().get(pretrain.epochs().size() - 1).epoch(), pretrain.samplesPerSecond(),
                    pretrain.checkpoint(), t.counts().count(), t.counts().accuracy(), t.counts().precision(),
                    t.counts().recall(), t.counts().f1(), t.auc(), b.accuracy(), b.f1(), finetune.model(),
                    finetune.metricsFile(), Reports.duration(seconds));
        }
    }

    public static Result run(Options options) {
        long started = System.nanoTime();
        String output = options.output() == null ? options.home() + "/work/demo" : options.output();
        String pretrainOut = output + "/pretrain";
        String finetuneOut = output + "/finetune";
        List<String> pre = new ArrayList<>(List.of("input=" + options.home() + "/data-samples/text",
                "output=" + pretrainOut));
        pre.addAll(options.pretrainSets());
        // A language model of three short epochs and six epochs over 838 e-mails: at fine-tuning's default rate
        // (0.0005) the new head had not left the majority class (docs/FINETUNING.md, "Learning rates").
        List<String> fine = new ArrayList<>(List.of("input=" + options.home() + "/data-samples/spam/emails.jsonl",
                "output=" + finetuneOut, "checkpoint=" + pretrainOut, "training.learningRate=0.01"));
        fine.addAll(options.finetuneSets());
        // Both configs are validated before anything is deleted or Spark starts.
        PretrainConfig pretrainConfig = PretrainConfig.SCHEMA.load(null, pre);
        FinetuneConfig finetuneConfig = FinetuneConfig.SCHEMA.load(null, fine);

        Configuration hadoop = new Configuration();
        boolean replace = options.overwrite() || options.output() == null || isDemoOutput(output, hadoop);
        RunDirectory.prepare(output, replace, hadoop);
        RunDirectory.writeString(new Path(output, MARKER), "output of anneal demo; replaced by the next run\n", hadoop);

        PretrainJob.Result pretrain = PretrainJob.run(pretrainConfig, false);
        FinetuneJob.Result finetune = FinetuneJob.run(finetuneConfig, false, false);
        return new Result(output, pretrain, finetune, (System.nanoTime() - started) / 1e9);
    }

    private static boolean isDemoOutput(String output, Configuration hadoop) {
        Path marker = new Path(output, MARKER);
        try {
            FileSystem fs = marker.getFileSystem(hadoop);
            return fs.exists(marker);
        } catch (IOException e) {
            return false;
        }
    }
}

package dev.anneal.core.config;

import java.util.List;

/**
 * How a job trains: the engine, epochs, per-worker batch size, learning rate and the engine's knobs. Pretraining and
 * fine-tuning share these keys under {@code training.}.
 *
 * @param engine             which {@code TrainingEngine} trains the network
 * @param epochs             passes over the training data
 * @param batchSize          examples per minibatch on each worker
 * @param learningRate       Adam's step size
 * @param averagingFrequency minibatches each worker fits between two parameter averagings
 * @param workers            Spark partitions trained in parallel; 0 means Spark's default parallelism
 * @param prefetch           minibatches each worker prepares ahead of training
 * @param gradientSharing    the gradient-sharing engine's knobs (unused by parameter averaging)
 * @param executor           native threads and off-heap memory of each executor
 * @param progressSeconds    seconds between two progress lines within an epoch; 0 = one line per epoch only
 * @param localSgdExchange   how the local-sgd engine's workers exchange: {@link #EXCHANGE_AUTO}, {@link
 *                           #EXCHANGE_BARRIER} or {@link #EXCHANGE_AGGREGATE}
 * @param localSgdDensity    the share of the parameters each local-sgd worker sends per round: 1 sends all of them
 *                           and Adam's state (the mean of the workers' networks); below 1, the largest entries of
 *                           its parameter change, the rest kept for later rounds (a sparse exchange)
 */
public record TrainingSettings(String engine, int epochs, int batchSize, double learningRate, int averagingFrequency,
                               int workers, int prefetch, GradientSharingSettings gradientSharing,
                               ExecutorSettings executor, int progressSeconds, String localSgdExchange,
                               double localSgdDensity) {
    /** Default of {@code progress.intervalSeconds}. */
    public static final int PROGRESS_SECONDS = 60;

    public static final String PARAMETER_AVERAGING = "parameter-averaging";
    public static final String GRADIENT_SHARING = "gradient-sharing";
    public static final String LOCAL_SGD = "local-sgd";
    public static final List<String> ENGINES = List.of(PARAMETER_AVERAGING, GRADIENT_SHARING, LOCAL_SGD);
    /** local-sgd: each pass one barrier-mode stage whose tasks exchange through Spark's barrier coordinator. */
    public static final String EXCHANGE_BARRIER = "barrier";
    /** local-sgd: each round one Spark job, a broadcast and a {@code treeAggregate}. */
    public static final String EXCHANGE_AGGREGATE = "aggregate";
    /** local-sgd: barrier where Spark can run it for this job and network, else aggregate. */
    public static final String EXCHANGE_AUTO = "auto";
    public static final List<String> EXCHANGES = List.of(EXCHANGE_AUTO, EXCHANGE_BARRIER, EXCHANGE_AGGREGATE);

    /** Parameter averaging with the given knobs and loopback gradient-sharing defaults. */
    public static TrainingSettings parameterAveraging(int epochs, int batchSize, double learningRate,
                                                      int averagingFrequency, int workers, int prefetch) {
        return new TrainingSettings(PARAMETER_AVERAGING, epochs, batchSize, learningRate, averagingFrequency, workers,
                prefetch, GradientSharingSettings.loopback(), ExecutorSettings.defaults(), PROGRESS_SECONDS,
                EXCHANGE_AUTO, 1.0);
    }

    public TrainingSettings {
        if (!ENGINES.contains(engine)) {
            throw new ConfigException("training.engine must be one of " + ENGINES + ", got '" + engine + "'");
        }
        Require.positive("training.epochs", epochs);
        Require.positive("training.batchSize", batchSize);
        Require.positive("training.learningRate", learningRate);
        Require.positive("training.averagingFrequency", averagingFrequency);
        Require.atLeast("training.workers", workers, 0);
        Require.atLeast("training.prefetch", prefetch, 0);
        Require.atLeast("progress.intervalSeconds", progressSeconds, 0);
        if (!EXCHANGES.contains(localSgdExchange)) {
            throw new ConfigException("training.localSgd.exchange must be one of " + EXCHANGES + ", got '"
                    + localSgdExchange + "'");
        }
        if (!(localSgdDensity > 0 && localSgdDensity <= 1)) {
            throw new ConfigException("training.localSgd.density must be above 0 and at most 1, got "
                    + localSgdDensity);
        }
        if (localSgdDensity < 1 && EXCHANGE_AGGREGATE.equals(localSgdExchange)) {
            throw new ConfigException("training.localSgd.density " + localSgdDensity + " needs the barrier exchange "
                    + "(training.localSgd.exchange barrier or auto); aggregate averages whole networks");
        }
        java.util.Objects.requireNonNull(gradientSharing, "gradientSharing");
        java.util.Objects.requireNonNull(executor, "executor");
    }

    /** The same settings with another engine and gradient-sharing knobs. */
    public TrainingSettings with(String newEngine, GradientSharingSettings sharing) {
        return new TrainingSettings(newEngine, epochs, batchSize, learningRate, averagingFrequency, workers, prefetch,
                sharing, executor, progressSeconds, localSgdExchange, localSgdDensity);
    }

    /** The same settings with the local-sgd engine's exchange {@code exchange}. */
    public TrainingSettings withLocalSgdExchange(String exchange) {
        return new TrainingSettings(engine, epochs, batchSize, learningRate, averagingFrequency, workers, prefetch,
                gradientSharing, executor, progressSeconds, exchange, localSgdDensity);
    }

    /** The same settings with the local-sgd engine's density {@code density} (1 = dense averaging). */
    public TrainingSettings withLocalSgdDensity(double density) {
        return new TrainingSettings(engine, epochs, batchSize, learningRate, averagingFrequency, workers, prefetch,
                gradientSharing, executor, progressSeconds, localSgdExchange, density);
    }

    /** The {@code training.*} and {@code executor.*} keys with the given job's defaults. */
    static List<ConfigField> fields(int epochs, int batchSize, double learningRate, int averagingFrequency) {
        List<ConfigField> fields = new java.util.ArrayList<>(List.of(
                ConfigField.choice("training.engine", PARAMETER_AVERAGING, ENGINES,
                        "How the Spark executors train together: parameter-averaging fits each worker's partition "
                                + "and averages parameters and updater state every training.averagingFrequency "
                                + "minibatches; gradient-sharing exchanges thresholded updates after every minibatch; "
                                + "local-sgd is Anneal's own averaging engine (workers train on their cached "
                                + "partitions and average parameters and updater state every "
                                + "training.averagingFrequency minibatches; see training.localSgd.exchange)."),
                ConfigField.integer("training.epochs", epochs, "Passes over the training data."),
                ConfigField.integer("training.batchSize", batchSize, "Examples per minibatch on each worker."),
                ConfigField.decimal("training.learningRate", learningRate, "Adam's learning rate."),
                ConfigField.integer("training.averagingFrequency", averagingFrequency,
                        "Minibatches each worker fits between two parameter averagings (1 = every minibatch); "
                                + "parameter-averaging and local-sgd."),
                ConfigField.integer("training.workers", 0,
                        "Partitions trained in parallel; 0 = Spark's default parallelism (cores in local mode)."),
                ConfigField.integer("training.prefetch", 2, "Minibatches each worker prepares ahead of training "
                        + "(DL4J's engines; local-sgd trains from minibatches cached in memory).")));
        fields.add(ConfigField.choice("training.localSgd.exchange", EXCHANGE_AUTO, EXCHANGES,
                "How local-sgd's workers average: barrier runs each pass as one barrier-mode Spark stage whose tasks "
                        + "exchange parameters and updater state through Spark's barrier coordinator after every "
                        + "round; aggregate runs each round as one Spark job (broadcast, then treeAggregate). Both "
                        + "compute the same mean. auto picks barrier unless dynamic allocation is on, or, on a "
                        + "cluster, the exchange would pass spark.rpc.message.maxSize or more than 8 workers train "
                        + "(the driver relays every worker's message to every worker)."));
        fields.add(ConfigField.decimal("training.localSgd.density", 1.0,
                "Share of the parameters each local-sgd worker sends per round. 1 averages the whole networks "
                        + "(parameters and Adam's state). Below 1 (barrier exchange only) each worker sends the "
                        + "largest entries of its parameter change as index/value pairs, keeps what it did not send "
                        + "for later rounds (error feedback), and keeps its own Adam state; every worker adds the "
                        + "mean of the sent changes. 0.02 every 20 minibatches moved 1/124 of "
                        + "parameter-averaging's bytes (docs/ENGINES.md)."));
        fields.addAll(GradientSharingSettings.fields());
        fields.addAll(ExecutorSettings.fields());
        fields.add(ConfigField.integer("progress.intervalSeconds", PROGRESS_SECONDS,
                "Seconds between two progress lines (loss, samples/s, elapsed, ETA) within an epoch; each line is "
                        + "also an event in <output>/metrics.jsonl. 0 = one line per epoch only."));
        return fields;
    }

    static TrainingSettings from(ConfigValues v) {
        return new TrainingSettings(v.string("training.engine"), v.integer("training.epochs"),
                v.integer("training.batchSize"), v.decimal("training.learningRate"),
                v.integer("training.averagingFrequency"), v.integer("training.workers"),
                v.integer("training.prefetch"), GradientSharingSettings.from(v),
                ExecutorSettings.from(v), v.integer("progress.intervalSeconds"),
                v.string("training.localSgd.exchange"), v.decimal("training.localSgd.density"));
    }
}

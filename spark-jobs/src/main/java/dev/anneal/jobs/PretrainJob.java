package dev.anneal.jobs;

import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointInfo;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.PretrainConfig;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.task.WarmupSchedule;
import dev.anneal.core.text.CharVocabulary;
import dev.anneal.jobs.data.ImageRecords;
import dev.anneal.jobs.data.PretrainCorpus;
import dev.anneal.jobs.data.ShardedCorpus;
import dev.anneal.jobs.data.TextCorpus;
import dev.anneal.jobs.engine.EpochPlan;
import dev.anneal.jobs.engine.GpuBinding;
import dev.anneal.jobs.engine.Traffic;
import dev.anneal.jobs.ingest.DatasetFiles;
import dev.anneal.jobs.engine.TrainingEngine;
import dev.anneal.jobs.engine.TrainingEngines;
import dev.anneal.jobs.eval.LanguageModelLoss;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pretrains a character-level LSTM language model on a text corpus with Spark and writes a checkpoint after every
 * epoch to {@code <output>/checkpoints/step-<n>/}. An output directory that already holds checkpoints is continued
 * from its latest one.
 */
public final class PretrainJob {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);

    private PretrainJob() {
    }

    /** One epoch's figures (for images, {@code validationLoss} is the cross-entropy per image). */
    public record Epoch(int epoch, long step, double validationLoss, double trainSeconds, double samplesPerSecond,
                        Map<String, Object> engine) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("epoch", epoch);
            m.put("step", step);
            m.put("validationLoss", validationLoss);
            m.put("seconds", trainSeconds);
            m.put("samplesPerSecond", samplesPerSecond);
            m.putAll(engine);
            return m;
        }
    }

    /** The run's figures, rewritten after every epoch. */
    public static final String METRICS = "metrics.json";

    /**
     * What a pretraining run did and where it wrote it; {@code example} is what a window is: {@code char}acter
     * windows of text, or {@code image}s (the loss is then per image).
     */
    public record Result(String checkpoint, CharVocabulary vocabulary, long trainWindows, long validationWindows,
                         List<Epoch> epochs, double seconds, String example) {
        public double firstLoss() {
            return epochs.isEmpty() ? Double.NaN : epochs.get(0).validationLoss();
        }

        public double lastLoss() {
            return epochs.isEmpty() ? Double.NaN : epochs.get(epochs.size() - 1).validationLoss();
        }

        public double samplesPerSecond() {
            double seconds = epochs.stream().mapToDouble(Epoch::trainSeconds).sum();
            double windows = epochs.stream().mapToDouble(e -> e.samplesPerSecond() * e.trainSeconds()).sum();
            return seconds == 0 ? 0 : windows / seconds;
        }
    }

    /**
     * Checks the input and output, then trains. Everything that can be checked without Spark is checked before the
     * session starts.
     */
    public static Result run(PretrainConfig config, boolean overwrite) {
        Configuration hadoop = new Configuration();
        boolean dataset = DatasetFiles.isDataset(config.input(), hadoop);
        if (dataset) {
            var manifest = DatasetFiles.manifest(config.input(), hadoop);
            if (manifest.kind().equals("image")) {
                ImageRecords.labelIndexes(manifest, config.image().labels(), "image.labels", config.input());
            } else {
                requireTextObjective(config, "a " + manifest.kind() + " dataset");
            }
        } else {
            requireTextObjective(config, "a text corpus");
            TextCorpus.checkInput(config.input(), hadoop);
        }
        CheckpointStore store = new CheckpointStore(hadoop);
        Path checkpoints = new Path(new Path(config.output()), CheckpointStore.CHECKPOINTS);
        Checkpoint resumeFrom = null;
        if (!overwrite && RunDirectory.hasContent(config.output(), hadoop)) {
            if (!exists(new Path(checkpoints, CheckpointStore.LATEST), hadoop)) {
                throw new ConfigException("output " + config.output() + " exists and holds no checkpoints to "
                        + "continue from; choose another --output or give --overwrite to replace it");
            }
            resumeFrom = store.read(new Path(config.output()), true);
            if (dataset && DatasetFiles.manifest(config.input(), hadoop).kind().equals("image")) {
                ImagePretrain.requireResumableKind(config, resumeFrom);
            }
        } else {
            RunDirectory.prepare(config.output(), overwrite, hadoop);
        }
        Checkpoint init = resumeFrom == null && !config.initCheckpoint().isEmpty()
                ? initial(config, store) : null;
        SparkSession spark = SparkSetup.session("pretrain", config.master(), config.training().executor());
        Result result = train(config, SparkSetup.context(spark), resumeFrom, init);
        dev.anneal.jobs.report.RunReport.afterJob(config.output(), hadoop);
        return result;
    }

    /**
     * The checkpoint {@code init.checkpoint} names, checked to be a language model of the network {@code model.*}
     * describes; its Adam state is left behind, and its learning rate becomes {@code training.learningRate}.
     */
    static Checkpoint initial(PretrainConfig config, CheckpointStore store) {
        Path location = new Path(config.initCheckpoint());
        Checkpoint c = store.read(location, false);
        Map<String, Object> network = c.info().network();
        LstmLanguageModelSpec want = new LstmLanguageModelSpec(c.vocabulary().size(), config.embeddingSize(),
                config.hiddenSize(), config.layers());
        List<String> differ = new ArrayList<>();
        if (!want.kind().equals(network.get("kind"))) {
            differ.add("network kind " + network.get("kind") + ", not " + want.kind());
        }
        Map<String, Integer> mine = new java.util.LinkedHashMap<>();
        mine.put("embeddingSize", config.embeddingSize());
        mine.put("hiddenSize", config.hiddenSize());
        mine.put("layers", config.layers());
        mine.forEach((k, v) -> {
            Object have = network.get(k);
            if (!(have instanceof Number n) || n.longValue() != v) {
                differ.add("model." + k + " is " + v + " but the checkpoint's " + k + " is " + have);
            }
        });
        if (!differ.isEmpty()) {
            throw new dev.anneal.core.checkpoint.CheckpointException("init.checkpoint " + store.resolve(location)
                    + " does not fit this run: " + String.join("; ", differ));
        }
        c.graph().setLearningRate(config.training().learningRate());
        return c;
    }

    /** The language model has one objective; the autoencoder's needs images (exit 2 otherwise, before Spark). */
    private static void requireTextObjective(PretrainConfig config, String what) {
        if (config.image().reconstructs()) {
            throw new ConfigException("model.cnn.objective=reconstruct trains a convolutional autoencoder on an image "
                    + "dataset, but input " + config.input() + " is " + what + ": the language model learns only to "
                    + "predict the next character; leave model.cnn.objective at classify");
        }
    }

    static Result train(PretrainConfig config, JavaSparkContext sc, Checkpoint resumeFrom) {
        return train(config, sc, resumeFrom, null);
    }

    /**
     * Adam at {@code training.learningRate}, under {@code schedule.*} when the config asks for one. The schedule's
     * steps are each worker's updates, {@code ceil(minibatches / workers)} an epoch, which is the count the training
     * loop keeps in the network's iteration counter.
     */
    static IUpdater updater(PretrainConfig config, long trainBatches, int workers) {
        return config.scheduled() ? new Adam(schedule(config, trainBatches, workers))
                : new Adam(config.training().learningRate());
    }

    /**
     * A network read from a checkpoint, under this run's {@code schedule.*}: a resumed run follows it from the step
     * it reached, a continued one ({@code fresh}: init.checkpoint) from step 0. Unchanged without a schedule.
     */
    static ComputationGraph scheduled(ComputationGraph graph, PretrainConfig config, long trainBatches, int workers,
                                      boolean fresh) {
        if (config.scheduled()) {
            if (fresh) {
                graph.getConfiguration().setIterationCount(0);
                graph.getConfiguration().setEpochCount(0);
            }
            graph.setLearningRate(schedule(config, trainBatches, workers));
        }
        return graph;
    }

    private static WarmupSchedule schedule(PretrainConfig config, long trainBatches, int workers) {
        long perEpoch = (trainBatches + workers - 1) / workers;
        int total = (int) Math.max(1, Math.min(Integer.MAX_VALUE, perEpoch * config.training().epochs()));
        return new WarmupSchedule(config.training().learningRate(), (int) Math.round(config.warmup() * total), total,
                config.decay(), 1, 1);
    }

    static Result train(PretrainConfig config, JavaSparkContext sc, Checkpoint resumeFrom, Checkpoint init) {
        if (ImageRecords.isImageDataset(config.input(), sc.hadoopConfiguration())) {
            if (init != null) {
                throw new dev.anneal.core.config.ConfigException(
                        "init.checkpoint continues a language model; it is not supported for an image dataset");
            }
            return ImagePretrain.train(config, sc, resumeFrom);
        }
        requireTextObjective(config, "not an image dataset");
        long started = System.nanoTime();
        CheckpointStore store = new CheckpointStore(sc.hadoopConfiguration());
        int workers = config.training().workers() > 0 ? config.training().workers() : sc.defaultParallelism();
        PretrainCorpus corpus = DatasetFiles.isDataset(config.input(), sc.hadoopConfiguration())
                ? ShardedCorpus.open(SparkSession.builder().sparkContext(sc.sc()).getOrCreate(), config.input())
                : TextCorpus.read(sc, config.input(), workers);
        Checkpoint from = resumeFrom != null ? resumeFrom : init;
        CharVocabulary vocabulary = from != null ? from.vocabulary() : corpus.vocabulary(config.vocabularySize());
        int window = config.windowLength();
        int batch = config.training().batchSize();
        JavaRDD<DataSet> train = corpus.minibatches(vocabulary, window, batch, config.validationFraction(), false);
        JavaRDD<DataSet> validation = config.validationFraction() > 0
                ? corpus.minibatches(vocabulary, window, batch, config.validationFraction(), true) : train;
        EpochPlan plan = new EpochPlan(train, workers, config.seed());
        long trainBatches = plan.size();
        long trainWindows = plan.examples();
        if (trainWindows == 0) {
            throw new InputException("input " + config.input() + " has too little text for one training window of "
                    + (window + 1) + " characters (text.windowLength=" + window + ")");
        }
        long validationWindows = validation == train ? trainWindows
                : validation.map(ds -> (long) ds.numExamples()).fold(0L, Long::sum);

        LstmLanguageModelSpec spec = new LstmLanguageModelSpec(vocabulary.size(), config.embeddingSize(),
                config.hiddenSize(), config.layers());
        ComputationGraph graph = from != null ? scheduled(from.graph(), config, trainBatches, workers, init != null)
                : spec.build(config.seed(), updater(config, trainBatches, workers), DataType.FLOAT);
        Map<String, Object> data = CorpusIdentity.of(config.input(), sc.hadoopConfiguration());
        TrainingLoop.Cursor start = resumeFrom == null ? new TrainingLoop.Cursor(1, 0, 0)
                : cursor(resumeFrom.info(), trainBatches, data);
        LOG.info("pretrain: {} -> {}; vocabulary {} characters; {} training windows of {} ({} minibatches of {}), "
                        + "{} validation; LSTM {}x{}, embedding {}, {} parameters; engine {}, {} workers; "
                        + "epoch {} from minibatch {} to epoch {}",
                config.input(), config.output(), vocabulary.size(), trainWindows, window + 1, trainBatches, batch,
                validationWindows, config.layers(), config.hiddenSize(), config.embeddingSize(), graph.numParams(),
                config.training().engine(), workers, start.epoch(), start.position(), config.training().epochs());

        List<Epoch> epochs = new ArrayList<>();
        String[] written = {resumeFrom == null ? null : store.resolve(new Path(config.output())).toString()};
        try (RunLog runLog = RunLog.open(config.output(), "pretrain", sc.hadoopConfiguration(),
                config.training().progressSeconds());
             TrainingEngine engine = TrainingEngines.create(sc, graph, config.training(), config.seed())) {
            runLog.start(Reports.asMap(config), RunLog.figures("input", config.input(), "trainWindows",
                    trainWindows, "validationWindows", validationWindows, "minibatches", trainBatches,
                    "vocabulary", vocabulary.size()), start.epoch(), config.training().epochs());
            runLog.scaleTrainLoss(1.0 / window);
            runLog.watch(engine, start.epoch(), start.position(), trainBatches);
            TrainingLoop.Hooks hooks = new TrainingLoop.Hooks() {
                @Override
                public Map<String, Object> epochEnd(int epoch, ComputationGraph trained, TrainingLoop.Passes passes) {
                    LanguageModelLoss.Result loss = LanguageModelLoss.of(sc, trained, validation);
                    DivergenceGuard.check(trained, loss.nats(), "in epoch " + epoch);
                    double seconds = passes.seconds();
                    // Windows per minibatch on average: a resumed epoch trained only its remaining share.
                    double rate = trainWindows * (passes.minibatches() / (double) trainBatches) / seconds;
                    runLog.epochEnded(epoch, RunLog.figures("step", (long) epoch * trainBatches, "validationLoss",
                            loss.nats(), "validationBitsPerCharacter", loss.bitsPerCharacter()));
                    epochs.add(new Epoch(epoch, (long) epoch * trainBatches, loss.nats(), seconds, rate,
                            Reports.enginePass(engine, passes.traffic(), passes.bindings(), passes.minibatches(),
                                    LOG)));
                    Map<String, Object> metrics = new LinkedHashMap<>();
                    metrics.put("validationLoss", loss.nats());
                    metrics.put("validationBitsPerCharacter", loss.bitsPerCharacter());
                    metrics.put("trainWindows", trainWindows);
                    metrics.put("samplesPerSecond", rate);
                    return metrics;
                }

                @Override
                public String checkpoint(ComputationGraph trained, TrainingLoop.Cursor cursor,
                                         Map<String, Object> metrics) {
                    CheckpointInfo info = new CheckpointInfo("pretrain", cursor.step(), cursor.epochsDone(),
                            config.seed(), networkInfo(spec), Reports.asMap(config), metrics,
                            cursor.toMap(trainBatches, data));
                    written[0] = store.writeStep(new Path(config.output()),
                            new Checkpoint(trained, vocabulary, info)).toString();
                    runLog.checkpoint(written[0], cursor.step(), cursor.epochsDone());
                    store.prune(new Path(config.output()), config.retention());
                    writeMetrics(config, sc, trainWindows, validationWindows, epochs, written[0]);
                    return written[0];
                }
            };
            new TrainingLoop(sc, engine, plan, config.cadence(), config.training().epochs()).run(start, hooks);
            runLog.finish(Map.of("checkpoint", String.valueOf(written[0])));
        }
        return new Result(written[0], vocabulary, trainWindows, validationWindows, epochs,
                (System.nanoTime() - started) / 1e9, "char");
    }

    /**
     * Where a checkpoint left off. A checkpoint from before cursors existed continues at the start of its next
     * epoch; one whose epoch read other shards ({@link CorpusIdentity}) or had a different number of minibatches
     * (the corpus or batch size changed) starts its epoch over.
     */
    @SuppressWarnings("unchecked")
    static TrainingLoop.Cursor cursor(CheckpointInfo info, long epochSize, Map<String, Object> data) {
        Map<String, Object> c = info.cursor();
        if (c.isEmpty()) {
            return new TrainingLoop.Cursor(info.epoch() + 1, 0, info.step());
        }
        int epoch = ((Number) c.get("epoch")).intValue();
        long position = ((Number) c.get("position")).longValue();
        long size = ((Number) c.get("epochMinibatches")).longValue();
        var changed = CorpusIdentity.change((Map<String, Object>) c.get("data"), data);
        if (position > 0 && changed.isPresent()) {
            LOG.warn("the checkpoint stopped {} minibatches into epoch {}, but {}: epoch {} starts over", position,
                    epoch, changed.get(), epoch);
            return new TrainingLoop.Cursor(epoch, 0, info.step());
        }
        if (position > 0 && size != epochSize) {
            LOG.warn("the checkpoint stopped {} minibatches into epoch {} of {}, but an epoch now has {} "
                    + "(input or batch size changed): epoch {} starts over", position, epoch, size, epochSize, epoch);
            return new TrainingLoop.Cursor(epoch, 0, info.step());
        }
        return new TrainingLoop.Cursor(epoch, position, info.step());
    }

    private static void writeMetrics(PretrainConfig config, JavaSparkContext sc, long trainWindows,
                                     long validationWindows, List<Epoch> epochs, String checkpoint) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", "pretrain");
        m.put("engine", config.training().engine());
        m.put("master", sc.master());
        m.put("trainWindows", trainWindows);
        m.put("validationWindows", validationWindows);
        m.put("checkpoint", checkpoint);
        m.put("epochs", epochs.stream().map(Epoch::toMap).toList());
        RunDirectory.writeString(new Path(config.output(), METRICS), Reports.toJson(m), sc.hadoopConfiguration());
    }

    static Map<String, Object> networkInfo(LstmLanguageModelSpec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", spec.kind());
        m.put("encoderLayers", spec.encoderLayers());
        m.put("encoderOutput", spec.encoderOutput());
        m.put("head", spec.headLayer());
        m.put("vocabularySize", spec.vocabSize());
        m.put("embeddingSize", spec.embeddingSize());
        m.put("hiddenSize", spec.hiddenSize());
        m.put("layers", spec.layers());
        return m;
    }

    private static boolean exists(Path p, Configuration conf) {
        try {
            return p.getFileSystem(conf).exists(p);
        } catch (java.io.IOException e) {
            throw new InputException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }
}

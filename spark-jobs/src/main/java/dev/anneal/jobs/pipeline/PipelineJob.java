package dev.anneal.jobs.pipeline;

import dev.anneal.core.AnnealException;
import dev.anneal.core.checkpoint.CheckpointStore;
import dev.anneal.core.config.ConfigException;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.data.DatasetManifest;
import dev.anneal.core.pipeline.PipelineFiles;
import dev.anneal.core.pipeline.PipelineLock;
import dev.anneal.core.pipeline.PipelineState;
import dev.anneal.jobs.FinetuneJob;
import dev.anneal.jobs.PretrainJob;
import dev.anneal.jobs.ingest.DatasetFiles;
import dev.anneal.jobs.ingest.IngestJob;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One scheduled pipeline run: ingest the slice, continue pretraining by a step budget, fine-tune from the checkpoint
 * that produced, evaluate, promote. Under {@code pipeline.lock}; every step records its intent and its result in
 * {@code pipeline/<runId>/state.json}, so a rerun after a kill at any point skips what is complete and does no effect
 * twice (see docs/PIPELINE.md for the table of crash points).
 */
public final class PipelineJob {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineJob.class);
    static final String DATASET = "dataset";
    static final String PRETRAIN_RUN = "runs/pretrain";
    static final String FINETUNE_RUNS = "runs/finetune";
    static final String MODELS = "models";
    static final String STATES = "pipeline";

    private PipelineJob() {
    }

    /**
     * What one invocation did.
     *
     * @param runId           the run
     * @param alreadyComplete the run had completed before: nothing was done
     * @param steps           each step and what this invocation did about it (ran, or skipped and why)
     * @param takeover        the stale lock taken over, or null
     * @param state           the run's state as it stands now
     * @param seconds         wall time of the invocation
     */
    public record Result(String runId, boolean alreadyComplete, Map<String, String> steps,
                         PipelineLock.Takeover takeover, Map<String, Object> state, double seconds) {
    }

    /** Checks the configs of all steps, takes the lock and runs (or resumes) the run. */
    public static Result run(PipelineConfig config) {
        long started = System.nanoTime();
        Configuration hadoop = new Configuration();
        Path root = new Path(config.root());
        StageConfigs stages = new StageConfigs(config, new Path(root, DATASET).toString(),
                new Path(root, PRETRAIN_RUN).toString(), hadoop);
        try (PipelineLock lock = PipelineLock.acquire(root, config.runId(), config.staleMinutes(), hadoop)) {
            if (lock.takeover() != null) {
                LOG.warn("took over the stale lock of {}: {}", lock.takeover().previous(), lock.takeover().reason());
            }
            PipelineState state = PipelineState.load(new Path(root, STATES), config.runId(), hadoop);
            if (state.complete()) {
                LOG.info("pipeline run {} completed at {}: nothing to do", config.runId(), state.finishedAt());
                return new Result(config.runId(), true, Map.of(), lock.takeover(), state.toMap(),
                        (System.nanoTime() - started) / 1e9);
            }
            LOG.info("pipeline run {} on {}: slice {}, {} pretraining steps, model {} promoted on {} of {}",
                    config.runId(), root, config.slice(), config.stepsPerRun(), config.modelName(), config.metric(),
                    config.evaluateInput().isBlank() ? "the test split of " + config.labeled()
                            : config.evaluateInput());
            Steps steps = new Steps(config, stages, state, root, hadoop);
            steps.ingest();
            steps.pretrain();
            steps.finetune();
            Evaluation evaluation = new Evaluation(config, stages, state, root, hadoop);
            steps.log.put("evaluate", evaluation.run());
            new Promotion(config, state, root, hadoop, steps.log, evaluation).promote();
            state.markComplete();
            LOG.info("pipeline run {} complete: {}", config.runId(), steps.log);
            return new Result(config.runId(), false, steps.log, lock.takeover(), state.toMap(),
                    (System.nanoTime() - started) / 1e9);
        }
    }

    /** The lines {@code anneal pipeline} prints. */
    public static String describe(Result r) {
        StringBuilder sb = new StringBuilder();
        if (r.takeover() != null) {
            PipelineLock.Holder previous = r.takeover().previous();
            sb.append("took over the stale lock of ").append(previous == null ? "an unknown holder" : previous)
                    .append(": ").append(r.takeover().reason()).append('\n');
        }
        if (r.alreadyComplete()) {
            sb.append("pipeline run ").append(r.runId()).append(" already completed at ")
                    .append(r.state().get("finishedAt")).append(": nothing to do\n");
            return sb.toString();
        }
        r.steps().forEach((step, what) -> sb.append(String.format("  %-9s %s%n", step, what)));
        sb.append(String.format("pipeline run %s done in %.1f s%n", r.runId(), r.seconds()));
        return sb.toString();
    }

    /** The ingest, pretrain and finetune steps of one run. */
    static final class Steps {
        private final PipelineConfig config;
        private final StageConfigs stages;
        private final PipelineState state;
        private final Configuration hadoop;
        private final Path dataset;
        private final Path pretrainRun;
        private final Path finetuneOut;
        final Map<String, String> log = new LinkedHashMap<>();

        Steps(PipelineConfig config, StageConfigs stages, PipelineState state, Path root, Configuration hadoop) {
            this.config = config;
            this.stages = stages;
            this.state = state;
            this.hadoop = hadoop;
            this.dataset = new Path(root, DATASET);
            this.pretrainRun = new Path(root, PRETRAIN_RUN);
            this.finetuneOut = new Path(new Path(root, FINETUNE_RUNS), config.runId());
        }

        void ingest() {
            String source = qualified(config.slice());
            Object recorded = state.step("ingest").get("slice");
            if (recorded != null && !recorded.equals(source)) {
                throw new ConfigException("pipeline run " + config.runId() + " was started with slice " + recorded
                        + ", not " + source + ": rerun it with the same --input, or give the new slice a new runId");
            }
            if (state.done("ingest")) {
                log.put("ingest", "skipped: done before (slice " + state.step("ingest").get("sliceIndex") + ")");
                return;
            }
            boolean exists = DatasetFiles.isDataset(dataset.toString(), hadoop);
            DatasetManifest before = exists ? DatasetFiles.manifest(dataset.toString(), hadoop) : null;
            if (state.step("ingest").isEmpty()) {
                state.record("ingest", PipelineState.STARTED, Map.of("slice", source,
                        "fromSliceIndex", before == null ? 0 : before.slices().size()));
            }
            int from = ((Number) state.step("ingest").get("fromSliceIndex")).intValue();
            Optional<DatasetManifest.Slice> found = sliceIngested(before, from, source);
            if (found.isPresent()) {
                recordIngest(found.get(), "found in " + DatasetManifest.FILE + " (ingested before its state was "
                        + "recorded)");
                return;
            }
            // No manifest means nothing of a first ingest was committed: what a killed attempt left goes.
            IngestJob.Result r = IngestJob.run(stages.ingest(), !exists);
            recordIngest(r.slice(), "ran");
        }

        private void recordIngest(DatasetManifest.Slice s, String how) {
            state.record("ingest", PipelineState.DONE, Map.of("sliceIndex", s.index(), "goodRecords",
                    s.goodRecords(), "badRecords", s.badRecords(), "tokens", s.tokens()));
            log.put("ingest", how + ": slice " + s.index() + " of " + dataset + ", " + s.goodRecords()
                    + " good records, " + s.badRecords() + " bad");
        }

        void pretrain() {
            if (state.done("pretrain")) {
                log.put("pretrain", "skipped: done before (" + state.step("pretrain").get("checkpoint") + ")");
                return;
            }
            CheckpointStore store = new CheckpointStore(hadoop);
            if (state.step("pretrain").isEmpty()) {
                long start = latestStep(store);
                long target = Math.max(start, 0) + config.stepsPerRun();
                long every = passEvery(stages.pretrainDivergenceCheckSteps(), config.stepsPerRun(), Math.max(start, 0));
                // The target goes on record before any training, so a rerun trains up to the same step.
                state.record("pretrain", PipelineState.STARTED, Map.of("startStep", Math.max(start, 0),
                        "targetStep", target, "passEvery", every));
            }
            long target = ((Number) state.step("pretrain").get("targetStep")).longValue();
            long every = ((Number) state.step("pretrain").get("passEvery")).longValue();
            long latest = latestStep(store);
            String how;
            if (latest < target) {
                long steps = target - Math.max(latest, 0);
                how = "ran " + steps + " steps from " + (latest < 0 ? "a new model" : "step " + latest);
                PretrainJob.run(stages.pretrain(steps, every), latest < 0);
            } else {
                how = "found the target checkpoint (trained before its state was recorded)";
            }
            Path checkpoint = new Path(new Path(pretrainRun, CheckpointStore.CHECKPOINTS), "step-" + target);
            if (!PipelineFiles.exists(new Path(checkpoint, CheckpointStore.MANIFEST), hadoop)) {
                throw new AnnealException(1, "pretraining of pipeline run " + config.runId() + " should have "
                        + "stopped at step " + target + ", but " + checkpoint + " does not exist (LATEST is step "
                        + latestStep(store) + "); was " + pretrainRun + " trained outside the pipeline, or "
                        + "pruned by checkpoint.keepLast?");
            }
            state.record("pretrain", PipelineState.DONE, Map.of("checkpoint", checkpoint.toString(), "step", target));
            log.put("pretrain", how + " to step " + target + ": " + checkpoint);
        }

        /** The step of the continuing run's LATEST checkpoint, -1 when it has none. */
        private long latestStep(CheckpointStore store) {
            if (!PipelineFiles.exists(new Path(new Path(pretrainRun, CheckpointStore.CHECKPOINTS),
                    CheckpointStore.LATEST), hadoop)) {
                return -1;
            }
            return ((Number) store.manifest(pretrainRun).get("step")).longValue();
        }

        void finetune() {
            if (state.done("finetune")) {
                log.put("finetune", "skipped: done before (" + state.step("finetune").get("output") + ")");
                return;
            }
            String checkpoint = String.valueOf(state.step("pretrain").get("checkpoint"));
            Path metricsFile = new Path(finetuneOut, FinetuneJob.METRICS);
            Map<String, Object> metrics = PipelineFiles.readJsonOrNull(metricsFile, hadoop);
            String how;
            if (metrics != null && metrics.get("checkpoint") instanceof Map<?, ?> c
                    && checkpoint.equals(c.get("path"))) {
                how = "found " + metricsFile + " (fine-tuned before its state was recorded)";
            } else {
                // metrics.json is written last: without it the directory is a killed attempt, replaced.
                state.record("finetune", PipelineState.STARTED, Map.of("checkpoint", checkpoint));
                FinetuneJob.run(stages.finetune(finetuneOut.toString(), checkpoint), true, false);
                metrics = PipelineFiles.readJsonOrNull(metricsFile, hadoop);
                how = "ran from " + checkpoint;
            }
            state.record("finetune", PipelineState.DONE, Map.of("output", finetuneOut.toString(),
                    "model", new Path(finetuneOut, FinetuneJob.MODEL_DIR).toString(), "metrics",
                    metricsFile.toString(), "checkpoint", checkpoint));
            log.put("finetune", how + ": " + finetuneOut);
        }

        private String qualified(String uri) {
            try {
                Path p = new Path(uri);
                return p.getFileSystem(hadoop).makeQualified(p).toString();
            } catch (IOException e) {
                throw new dev.anneal.core.InputException("cannot read slice " + uri + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The slice {@code source} ingested at index {@code from} or later, if the manifest has it: the ingest finished
     * and only its state was not recorded. Slices before {@code from} are earlier runs' (the same source given to two
     * runs is two slices).
     */
    static Optional<DatasetManifest.Slice> sliceIngested(DatasetManifest manifest, int from, String source) {
        if (manifest == null) {
            return Optional.empty();
        }
        return manifest.slices().stream().filter(s -> s.index() >= from && s.sources().contains(source)).findFirst();
    }

    /**
     * The pass length that makes the step budget end exactly on its target: a divisor of the budget, of the start
     * step and of the configured divergence-check interval (0 = the budget), so the target is a pass end.
     */
    static long passEvery(long divergenceCheckSteps, long budget, long start) {
        long every = gcd(divergenceCheckSteps > 0 ? divergenceCheckSteps : budget, budget);
        every = start % every == 0 ? every : gcd(every, start);
        if (every < Math.min(budget, divergenceCheckSteps > 0 ? divergenceCheckSteps : budget) / 10) {
            LOG.warn("pretraining passes of {} steps, so the budget of {} from step {} ends on its target; "
                    + "more Spark jobs than usual", every, budget, start);
        }
        return every;
    }

    static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}

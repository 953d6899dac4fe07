package dev.anneal.jobs.pipeline;

import dev.anneal.core.InputException;
import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.data.InputFingerprint;
import dev.anneal.core.pipeline.ModelRegistry;
import dev.anneal.core.pipeline.PipelineFiles;
import dev.anneal.core.pipeline.PipelineState;
import dev.anneal.jobs.EvaluateJob;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The evaluate step: {@code anneal evaluate} of the run's candidate on the run's evaluation data into
 * {@code evaluations/<runId>/candidate/}, and the figures of the current model on the same data: those recorded at
 * its promotion when they were measured on data of the same fingerprint, else measured again into
 * {@code evaluations/<runId>/current-<version>/}. Each evaluation is written whole or not at all (EvaluateJob's
 * atomic output), so a rerun finds a finished one by its {@code metrics.json} and the data's fingerprint in it.
 */
final class Evaluation {
    private static final Logger LOG = LoggerFactory.getLogger(Evaluation.class);
    static final String EVALUATIONS = "evaluations";
    static final String CANDIDATE = "candidate";

    private final PipelineConfig config;
    private final StageConfigs stages;
    private final PipelineState state;
    private final Configuration hadoop;
    private final Path root;
    private final Path dir;

    /** {@code stages} may be null where every figure needed is on record (nothing is measured then). */
    Evaluation(PipelineConfig config, StageConfigs stages, PipelineState state, Path root, Configuration hadoop) {
        this.config = config;
        this.stages = stages;
        this.state = state;
        this.hadoop = hadoop;
        this.root = root;
        this.dir = new Path(new Path(root, EVALUATIONS), config.runId());
    }

    /** The value of {@code metric} in figures as the state and version.json hold them; NaN when not a number. */
    @SuppressWarnings("unchecked")
    static double value(Map<String, Object> figures, String metric) {
        Object v = ((Map<String, Object>) figures.get("metrics")).get(metric);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** Runs (or resumes) the step; returns the line for the run's summary. */
    String run() {
        // Done without a candidate's figures: recorded by an earlier release, whose evaluate step only read the
        // fine-tune's metrics.json; evaluated now, so promote compares both models on one evaluation's data.
        if (state.done("evaluate") && state.step("evaluate").get("candidate") != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> candidate = (Map<String, Object>) state.step("evaluate").get("candidate");
            return String.format("skipped: done before (%s %.4f, %s)", config.metric(),
                    value(candidate, config.metric()), candidate.get("output"));
        }
        String model = String.valueOf(state.step("finetune").get("model"));
        Path out = new Path(dir, CANDIDATE);
        InputFingerprint data = EvaluateJob.fingerprint(stages.evaluate(model, out.toString()), hadoop);
        if (state.step("evaluate").get("data") instanceof Map<?, ?> before
                && !data.sha256().equals(before.get("sha256"))) {
            LOG.warn("pipeline run {}: the evaluation data changed since the attempt that was killed ({} then, {} "
                    + "now); measuring on it as it is now", config.runId(), before.get("sha256"), data.sha256());
        }
        state.record("evaluate", PipelineState.STARTED, Map.of("data", data.toMap()));
        Map<String, Object> candidate = measure(model, out, data, "the candidate");
        state.record("evaluate", PipelineState.STARTED, Map.of("candidate", candidate));
        Optional<ModelRegistry.Version> current = registry().current();
        Map<String, Object> champion = current.isEmpty() ? Map.of("version", "none")
                : champion(current.get(), data.toMap());
        state.record("evaluate", PipelineState.DONE, Map.of("current", champion));
        String line = String.format("%s %.4f on %s (%s, %d records scored)", config.metric(),
                value(candidate, config.metric()), data.input(), data.selection(),
                ((Number) candidate.get("scored")).longValue());
        return line + (current.isEmpty() ? "; no current model" : String.format("; current %s %.4f (%s)",
                current.get().name(), value(champion, config.metric()), champion.get("source")));
    }

    private ModelRegistry registry() {
        return new ModelRegistry(new Path(new Path(root, PipelineJob.MODELS), config.modelName()), hadoop);
    }

    /**
     * The figures of version {@code v} on the evaluation data {@code data} (a fingerprint's map): those on record in
     * its version.json when they were measured on data of the same fingerprint, else measured now.
     */
    Map<String, Object> champion(ModelRegistry.Version v, Map<String, Object> data) {
        Object recorded = v.info().get("evaluation");
        Object recordedData = recorded instanceof Map<?, ?> r ? r.get("data") : null;
        Object recordedSha = recordedData instanceof Map<?, ?> d ? d.get("sha256") : null;
        if (recordedSha != null && recordedSha.equals(data.get("sha256"))) {
            @SuppressWarnings("unchecked")
            Map<String, Object> figures = new LinkedHashMap<>((Map<String, Object>) recorded);
            figures.put("version", v.name());
            figures.put("source", "recorded at its promotion, on the same data");
            return figures;
        }
        if (stages == null) {
            throw new IllegalStateException(v.name() + " was evaluated on other data and no evaluate config is set");
        }
        String why = recordedData instanceof Map<?, ?> d ? "its recorded evaluation was on other data, "
                + d.get("input") + " (" + d.get("selection") + ")" : "it has no recorded evaluation";
        InputFingerprint now = new InputFingerprint(String.valueOf(data.get("input")),
                String.valueOf(data.get("selection")), String.valueOf(data.get("sha256")),
                ((Number) data.get("files")).longValue(), ((Number) data.get("bytes")).longValue());
        LOG.info("pipeline run {}: the current model {} is measured on this run's data: {}", config.runId(),
                v.name(), why);
        Map<String, Object> figures = measure(new Path(v.dir(), "model").toString(),
                new Path(dir, "current-" + v.name()), now, "current model " + v.name());
        figures.put("version", v.name());
        figures.put("source", "evaluated again on this run's data: " + why);
        return figures;
    }

    /**
     * The figures of {@code model} on {@code data}, from {@code out/metrics.json} when a finished evaluation of the
     * same data is there (the step was killed after it), else from {@code anneal evaluate} run now.
     */
    private Map<String, Object> measure(String model, Path out, InputFingerprint data, String what) {
        Path file = new Path(out, EvaluateJob.METRICS);
        Map<String, Object> metrics = PipelineFiles.readJsonOrNull(file, hadoop);
        String how = "found";
        if (metrics == null || !(metrics.get("inputFingerprint") instanceof Map<?, ?> fp)
                || !data.sha256().equals(fp.get("sha256"))) {
            EvaluateJob.Result r = EvaluateJob.run(stages.evaluate(model, out.toString()), true);
            if (!r.fingerprint().sha256().equals(data.sha256())) {
                throw new InputException("the evaluation data " + data.input() + " changed while " + what
                        + " was evaluated (sha256 " + data.sha256() + " before, " + r.fingerprint().sha256()
                        + " after); rerun the pipeline");
            }
            metrics = PipelineFiles.readJsonOrNull(file, hadoop);
            how = "ran";
        }
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("output", out.toString());
        figures.put("model", model);
        figures.put("evaluated", how);
        figures.put("data", data.toMap());
        Map<String, Object> scalar = new LinkedHashMap<>();
        if (!(metrics.get("metrics") instanceof Map<?, ?> all)) {
            throw new InputException(file + ": no metrics");
        }
        all.forEach((k, v) -> {
            if (v instanceof Number || v == null) {
                scalar.put(String.valueOf(k), v);
            } else if ("NaN".equals(v)) {
                // Jackson writes a NaN (an AUC without both classes) as a string.
                scalar.put(String.valueOf(k), Double.NaN);
            }
        });
        if (!scalar.containsKey(config.metric())) {
            throw new InputException(file + ": no metrics." + config.metric() + " (promote.metric); it has "
                    + scalar.keySet());
        }
        figures.put("metrics", scalar);
        Object records = metrics.get("records");
        long scored = records instanceof Map<?, ?> r && r.get("scored") instanceof Number n ? n.longValue() : 0;
        if (scored == 0) {
            throw new InputException(file + ": " + what + " scored no records of " + data.input() + " ("
                    + data.selection() + "); evaluate.input needs labeled records the models can be measured on");
        }
        figures.put("scored", scored);
        figures.put("quarantined", records instanceof Map<?, ?> r && r.get("quarantined") instanceof Number n
                ? n : 0);
        return figures;
    }
}

package dev.anneal.jobs.pipeline;

import dev.anneal.core.config.PipelineConfig;
import dev.anneal.core.pipeline.ModelRegistry;
import dev.anneal.core.pipeline.PipelineFiles;
import dev.anneal.core.pipeline.PipelineState;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The promote step: decides once whether the run's fine-tuned model replaces the current one, records the decision
 * in the state before acting on it, then adds the version, replaces {@code CURRENT} and logs the decision, each of
 * which a rerun recognises as done. A rerun follows the recorded decision instead of deciding again (after CURRENT
 * was replaced, the candidate would otherwise be compared with itself).
 */
final class Promotion {
    private static final Logger LOG = LoggerFactory.getLogger(Promotion.class);

    /** A decision and why. */
    record Decision(boolean promote, String reason) {
    }

    private final PipelineConfig config;
    private final PipelineState state;
    private final Configuration hadoop;
    private final ModelRegistry registry;
    private final Map<String, String> log;
    private final Evaluation evaluation;

    Promotion(PipelineConfig config, PipelineState state, Path root, Configuration hadoop, Map<String, String> log,
              Evaluation evaluation) {
        this.config = config;
        this.state = state;
        this.hadoop = hadoop;
        this.registry = new ModelRegistry(new Path(new Path(root, PipelineJob.MODELS), config.modelName()), hadoop);
        this.log = log;
        this.evaluation = evaluation;
    }

    /**
     * Promote when the candidate beats the current model by more than {@code minImprovement}; the first model is
     * promoted; a candidate whose metric is not a number (AUC of one-class evaluation data) is not. Both figures
     * are measured on the same records.
     */
    static Decision decide(String metric, double candidate, Double current, String currentVersion,
                           double minImprovement) {
        if (Double.isNaN(candidate)) {
            return new Decision(false, "the candidate's " + metric + " is not a number");
        }
        if (current == null) {
            return new Decision(true, "first model: nothing to compare with");
        }
        double gain = candidate - current;
        String cmp = String.format("%s %.4f vs %.4f of %s (%+.4f; promote.minImprovement %s)", metric,
                candidate, current, currentVersion, gain, minImprovement);
        return gain > minImprovement ? new Decision(true, cmp) : new Decision(false, cmp);
    }

    /**
     * The current model's figures on this run's data: the evaluate step's when CURRENT still names the version it
     * measured; else (another run moved CURRENT between this run's evaluate and promote) the figures of the version
     * CURRENT names now, recorded or measured on this run's data.
     */
    private Map<String, Object> championOf(ModelRegistry.Version v, Map<String, Object> data) {
        @SuppressWarnings("unchecked")
        Map<String, Object> measured = (Map<String, Object>) state.step("evaluate").get("current");
        if (measured != null && v.name().equals(measured.get("version"))) {
            return measured;
        }
        Map<String, Object> figures = evaluation.champion(v, data);
        state.record("evaluate", PipelineState.DONE, Map.of("current", figures));
        return figures;
    }

    /** What version.json keeps of the candidate's evaluation: the data's fingerprint, the figures, the output. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> evaluationRecord() {
        Map<String, Object> c = (Map<String, Object>) state.step("evaluate").get("candidate");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("data", state.step("evaluate").get("data"));
        r.put("metrics", c.get("metrics"));
        r.put("scored", c.get("scored"));
        r.put("output", c.get("output"));
        return r;
    }

    void promote() {
        if (state.done("promote")) {
            log.put("promote", "skipped: done before (" + state.step("promote").get("decision") + ")");
            return;
        }
        if (state.step("promote").isEmpty()) {
            Optional<ModelRegistry.Version> current = registry.current();
            Map<String, Object> evaluated = state.step("evaluate");
            @SuppressWarnings("unchecked")
            Map<String, Object> data = (Map<String, Object>) evaluated.get("data");
            @SuppressWarnings("unchecked")
            Map<String, Object> candidateFigures = (Map<String, Object>) evaluated.get("candidate");
            double candidate = Evaluation.value(candidateFigures, config.metric());
            Map<String, Object> champion = current.map(v -> championOf(v, data)).orElse(null);
            Double currentValue = champion == null ? null : Evaluation.value(champion, config.metric());
            Decision d = decide(config.metric(), candidate, currentValue, current.map(ModelRegistry.Version::name)
                    .orElse(null), config.minImprovement());
            Map<String, Object> decided = new LinkedHashMap<>();
            decided.put("decision", d.promote() ? "promoted" : "rejected");
            decided.put("reason", d.reason() + "; measured on " + data.get("input") + " (" + data.get("selection")
                    + ", " + candidateFigures.get("scored") + " records)" + (champion == null ? ""
                    : "; " + current.get().name() + "'s figure " + champion.get("source")));
            decided.put("metric", config.metric());
            decided.put("candidate", candidate);
            decided.put("current", currentValue);
            decided.put("evaluation", data);
            decided.put("candidateEvaluation", candidateFigures.get("output"));
            decided.put("currentEvaluation", champion == null ? null : champion.get("output"));
            decided.put("currentSource", champion == null ? null : champion.get("source"));
            decided.put("previousVersion", current.map(ModelRegistry.Version::name).orElse(null));
            decided.put("version", d.promote() ? registry.nextVersion() : null);
            decided.put("decidedAt", Instant.now().toString());
            state.record("promote", PipelineState.STARTED, decided);
        }
        Map<String, Object> decided = state.step("promote");
        boolean promote = "promoted".equals(decided.get("decision"));
        String version = (String) decided.get("version");
        String note = "";
        if (promote) {
            Map<String, Object> finetune = state.step("finetune");
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("runId", config.runId());
            info.put("createdAt", decided.get("decidedAt"));
            info.put("checkpoint", state.step("pretrain").get("checkpoint"));
            info.put("checkpointStep", state.step("pretrain").get("step"));
            info.put("finetuneRun", finetune.get("output"));
            info.put("metric", config.metric());
            info.put("evaluation", evaluationRecord());
            Map<String, Object> tuned = PipelineFiles.readJsonOrNull(new Path(String.valueOf(finetune.get("metrics"))),
                    hadoop);
            info.put("test", tuned == null ? null : tuned.get("test"));
            registry.addVersion(version, new Path(String.valueOf(finetune.get("model"))),
                    new Path(String.valueOf(finetune.get("metrics"))), info);
            String now = registry.current().map(ModelRegistry.Version::name).orElse(null);
            if (version.equals(now)) {
                note = "; CURRENT already named it";
            } else if (Objects.equals(now, decided.get("previousVersion"))) {
                registry.setCurrent(version);
            } else {
                // Another run moved CURRENT after this decision: the newer decision stands.
                note = "; CURRENT had moved on to " + now + " meanwhile and was left as it is";
                LOG.warn("pipeline run {}: {} promoted, but CURRENT moved from {} to {} since the decision; left "
                        + "as it is", config.runId(), version, decided.get("previousVersion"), now);
            }
        }
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("time", decided.get("decidedAt"));
        entry.put("runId", config.runId());
        entry.put("model", config.modelName());
        entry.put("metric", decided.get("metric"));
        entry.put("candidate", decided.get("candidate"));
        entry.put("current", decided.get("current"));
        entry.put("currentVersion", decided.get("previousVersion"));
        entry.put("currentSource", decided.get("currentSource"));
        entry.put("evaluation", decided.get("evaluation"));
        entry.put("candidateEvaluation", decided.get("candidateEvaluation"));
        entry.put("currentEvaluation", decided.get("currentEvaluation"));
        entry.put("decision", decided.get("decision"));
        entry.put("version", version);
        entry.put("reason", decided.get("reason") + note);
        entry.put("checkpoint", state.step("pretrain").get("checkpoint"));
        boolean logged = registry.logPromotion(entry);
        state.record("promote", PipelineState.DONE, Map.of("logged", logged ? "now" : "before"));
        log.put("promote", decided.get("decision") + (promote ? " as " + version : "") + ": "
                + decided.get("reason") + note + (logged ? "" : " (already in " + ModelRegistry.LOG + ")"));
    }
}

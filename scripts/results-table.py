#!/usr/bin/env python3
"""Writes docs/RESULTS.md from the runs scripts/results made: every fine-tune's metrics.json under
WORK/ft/<half>/<model>/<labels>/<method>/seed-<n>/, the language models' run logs, and WORK/stage-seconds.tsv.
The hand-written notes between the notes markers of an existing page are kept."""
import argparse
import json
import math
import os
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path

METHODS = ["scratch", "frozen", "full", "adapters"]
METHOD_NAMES = {"scratch": "scratch", "frozen": "frozen encoder", "full": "full fine-tune", "adapters": "adapters"}
LM_NAMES = {"general": "general only (SOTU + Moby Dick)", "general-task": "general + task (ULMFiT)",
            "task": "task only (e-mails, no labels)"}
NOTES_BEGIN = "<!-- notes:begin (kept when the page is regenerated) -->"
NOTES_END = "<!-- notes:end -->"
TARGET_GAIN_POINTS = 5.0
TARGET_SPAM_F1 = 0.95
TARGET_FULL_IMAGES = 0.91


def label_key(labels):
    return (1, 0) if labels == "all" else (0, int(labels))


def runs(work, half):
    """{(model, labels, method): [metrics, ...]} of every finished fine-tune of a half."""
    found = {}
    root = Path(work) / "ft" / half
    for metrics in sorted(root.glob("*/*/*/seed-*/metrics.json")):
        seed_dir = metrics.parent
        method_dir = seed_dir.parent
        labels_dir = method_dir.parent
        key = (labels_dir.parent.name, labels_dir.name, method_dir.name)
        with open(metrics) as f:
            found.setdefault(key, []).append(json.load(f))
    return found


def mean_sd(values):
    if not values:
        return None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def cell(values, digits=3):
    ms = mean_sd(values)
    if ms is None:
        return "—"
    return f"{ms[0]:.{digits}f} ± {ms[1]:.{digits}f} ({len(values)})"


def f1s(ms):
    return [m["test"]["f1"] for m in ms]


def aucs(ms):
    return [m["test"]["auc"] for m in ms if isinstance(m["test"].get("auc"), (int, float))]


def accuracies(ms):
    return [m["test"]["accuracy"] for m in ms]


def read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def best_gain(found, model, budget, figure, scratch_model=None):
    """(points, method) of the best pretrained method's mean over scratch's, or (None, None)."""
    scratch = mean_sd(figure(found.get((scratch_model or model, budget, "scratch"), [])))
    best = None
    for m in METHODS[1:]:
        ms = mean_sd(figure(found.get((model, budget, m), [])))
        if ms is not None and (best is None or ms[0] > best[1]):
            best = (m, ms[0])
    if scratch is None or best is None:
        return None, None
    return 100 * (best[1] - scratch[0]), best[0]


# The image half's pretrainings, in the order their tables appear; scratch runs live under the first.
PRETRAININGS = {
    "cnn-0-4": ("from a CNN pretrained with labels on classes 0–4", "supervised on classes 0–4"),
    "cae": ("from a convolutional autoencoder pretrained on the training images of all 10 classes without their "
            "labels (the same encoder; scratch is the first table's scratch column, the same architecture drawn "
            "afresh)", "autoencoder"),
}


def image_grid(found, pre, lines):
    """One pretraining's table; returns {budget: (points, method)} of its best pretrained method over scratch."""
    budgets = sorted({k[1] for k in found if k[0] == pre}, key=label_key)
    if not budgets:
        return {}
    lines += [f"### {PRETRAININGS[pre][1].capitalize()}", "",
              f"Test accuracy {PRETRAININGS[pre][0]}:", "",
              "| labels | " + " | ".join(METHOD_NAMES[m] for m in METHODS)
              + " | best pretrained − scratch (points) |", "|---" * (len(METHODS) + 2) + "|"]
    gains = {}
    for b in budgets:
        row = [cell(accuracies(found.get(("cnn-0-4" if m == "scratch" else pre, b, m), []))) for m in METHODS]
        gain, method = best_gain(found, pre, b, accuracies, "cnn-0-4")
        gains[b] = (gain, method)
        row.append("—" if gain is None else f"{gain:+.1f} ({METHOD_NAMES[method]})")
        lines.append(f"| {b} | " + " | ".join(row) + " |")
    lines.append("")
    return gains


def image_section(work, lines):
    """The Fashion-MNIST half: classes 5-9 from few labels after each pretraining (a CNN on classes 0-4 with
    labels, an autoencoder on every image without), and the full-label 10-class CNN. Returns (the best gain over
    every pretraining by budget as (points, method, pretraining), the full-label CNN's test accuracy or None)."""
    found = runs(work, "images")
    pretrained = read_json(Path(work) / "cnn" / "0-4" / "metrics.json")
    autoencoder = read_json(Path(work) / "cnn" / "cae" / "metrics.json")
    full = read_json(Path(work) / "cnn" / "full" / "metrics.json")
    if not found and pretrained is None and full is None:
        return {}, None
    lines += ["## Images: Fashion-MNIST classes 5–9", "",
              "Test accuracy on the standard test images of classes 5–9 (sandal, shirt, sneaker, bag, ankle "
              "boot; mean ± sd over seeds, number of seeds in brackets) by the number of labelled training images "
              "(scratch: the same architecture with its weights drawn afresh, every layer trained). Seeds vary the "
              "initialisation of what is new and which labelled images are drawn (per class in proportion, at least "
              "one each). Each run keeps the weights of its best validation epoch (accuracy on the validation images "
              "of classes 5–9).", ""]
    gains = {}
    for pre in PRETRAININGS:
        for b, (gain, method) in image_grid(found, pre, lines).items():
            if gain is not None and (gains.get(b) is None or gain > gains[b][0]):
                gains[b] = (gain, method, pre)
            gains.setdefault(b, None)
    if found:
        budgets = sorted({k[1] for k in found}, key=label_key)
        trained = {b: sorted({m2["records"]["train"] for (_, b2, _), ms in found.items() if b2 == b for m2 in ms})
                   for b in budgets}
        lines += ["Labelled images actually trained on: " + "; ".join(f"{b}: {trained[b]}" for b in budgets)
                  + ". Test images: " + ", ".join(sorted({str(m["records"]["test"]) for ms in found.values()
                                                          for m in ms})) + ".", ""]
        params = {}
        for (model, b, m), ms in found.items():
            p = ms[0].get("parameters") or {}
            if "trainable" in p:
                params.setdefault(m, (p.get("trainable"), p.get("total"), p.get("savedModelBytes")))
        if params:
            lines += ["What each method trains and saves (one run of each):", "",
                      "| method | trainable parameters | of all | saved model |", "|---|---|---|---|"]
            for m in METHODS:
                if m in params:
                    t, total, saved = params[m]
                    lines.append(f"| {METHOD_NAMES[m]} | {t:,} | {total:,} | "
                                 + ("—" if saved is None else f"{saved / 1e6:.2f} MB") + " |")
            lines.append("")
    lines += ["### The CNNs", "", "| model | training images | epochs | test images | test accuracy |",
              "|---|---|---|---|---|"]
    constant = read_json(Path(work) / "cnn" / "full-constant" / "metrics.json")
    rows = [("pretrained, classes 0–4 (the fine-tunes' start; constant learning rate)", pretrained),
            ("full labels, all 10 classes, learning rate decayed by a cosine (target ≥ 0.91)", full)]
    if constant is not None:
        rows.append(("full labels, all 10 classes, constant learning rate (an earlier run)", constant))
    for name, m in rows:
        if m is None:
            lines.append(f"| {name} | — | — | — | not run yet |")
            continue
        test = m.get("test") or {}
        # A resumed run's metrics.json lists the epochs of its last invocation; the last epoch's number is the count.
        epochs = max((e.get("epoch", 0) for e in m.get("epochs") or []), default=0)
        lines.append(f"| {name} | {m.get('trainImages', '—'):,} | {epochs} | "
                     f"{test.get('count', '—')} | {test.get('accuracy', float('nan')):.4f} |")
    lines.append("")
    if autoencoder is not None:
        test = autoencoder.get("test") or {}
        mean = test.get("meanImage") or {}
        epochs = max((e.get("epoch", 0) for e in autoencoder.get("epochs") or []), default=0)
        figure = (lambda v: "—" if v is None else f"{v:.4f}")
        lines += ["The autoencoder (the second pretraining), on the test images of all 10 classes: reconstruction "
                  "loss in nats per pixel (binary cross-entropy) and squared error per pixel (pixels in [0, 1]), "
                  "against the mean training image as a constant reconstruction:", "",
                  "| model | training images | epochs | test images | loss per pixel | squared error per pixel |",
                  "|---|---|---|---|---|---|",
                  f"| autoencoder | {autoencoder.get('trainImages', 0):,} | {epochs} | {test.get('count', '—')} | "
                  f"{figure(test.get('loss'))} | {figure(test.get('mse'))} |",
                  f"| the mean training image | — | — | {test.get('count', '—')} | {figure(mean.get('loss'))} | "
                  f"{figure(mean.get('mse'))} |", ""]
    full_accuracy = None if full is None else (full.get("test") or {}).get("accuracy")
    return gains, full_accuracy


def full_label_run(work):
    """The full-label target's fine-tune (WORK/ft/text-full), with its method (from the stage log) and epochs, or
    None."""
    metrics = read_json(Path(work) / "ft" / "text-full" / "metrics.json")
    if metrics is None:
        return None
    method = "?"
    times = Path(work) / "stage-seconds.tsv"
    if times.exists():
        for line in times.read_text().splitlines():
            if line.startswith("finetune full-label "):
                method = METHOD_NAMES.get(line.split("\t")[0].split()[-1], method)
    stopping = metrics.get("earlyStopping") or {}
    return {"metrics": metrics, "method": method, "epochs": stopping.get("epochsRun", len(metrics.get("epochs", []))),
            "bestEpoch": stopping.get("bestEpoch", "—")}


def lm_summary(work, name):
    """Steps, last training loss per character and validation loss of a language-model run."""
    run = Path(work) / "lm" / name
    out = {"steps": None, "trainLoss": None, "firstTrainLoss": None, "validationLoss": None}
    log = run / "metrics.jsonl"
    if not log.exists():
        return out
    for line in log.read_text().splitlines():
        event = json.loads(line)
        for where in (event, event.get("figures") or {}, event.get("data") or {}):
            if isinstance(where.get("trainLoss"), (int, float)):
                out["trainLoss"] = where["trainLoss"]
                if out["firstTrainLoss"] is None:
                    out["firstTrainLoss"] = where["trainLoss"]
            if isinstance(where.get("validationLoss"), (int, float)) and math.isfinite(where["validationLoss"]):
                out["validationLoss"] = where["validationLoss"]
            if isinstance(where.get("step"), int):
                out["steps"] = where["step"]
    return out


def stage_seconds(work):
    """Wall seconds per group of stages: a stage run twice (its output removed in between) counts once, as its
    last run; a language model's or a CNN's time is its run log's, which holds even when it ran outside this
    script."""
    last = {}
    path = Path(work) / "stage-seconds.tsv"
    if path.exists():
        for line in path.read_text().splitlines():
            name, s = line.rsplit("\t", 1)
            last[name] = int(s)
    runs_of = [("lm-" + lm, Path(work) / "lm" / lm) for lm in ("general", "general-task", "task")]
    runs_of += [("cnn-" + c, Path(work) / "cnn" / c) for c in ("0-4", "full")]
    for name, run in runs_of:
        log = run / "metrics.jsonl"
        if log.exists():
            # A run resumed in several invocations (training.stepsPerRun, or more epochs) ends once per invocation.
            ends = [json.loads(line) for line in log.read_text().splitlines()]
            ends = [e["seconds"] for e in ends if e.get("event") == "end" and isinstance(e.get("seconds"), (int, float))]
            if ends:
                last[name] = round(sum(ends))
    seconds = {}
    for name, s in last.items():
        group = "finetune " + name.split()[1] if name.startswith("finetune") else name
        seconds[group] = seconds.get(group, 0) + s
    return seconds


def machine():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    load = os.getloadavg()[1] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores ({model or platform.machine()}){mem}; load average {load:.1f} over the last "
            f"5 minutes when the page was written")


def text_section(work, lines):
    found = runs(work, "text")
    budgets = sorted({k[1] for k in found if k[0] == "general-task"}, key=label_key)
    lines += ["## Text: SpamAssassin spam filter", "",
              "Test F1 of the spam class (mean ± sd over seeds, number of seeds in brackets) by the number of "
              "labelled training e-mails, from the general + task language model (scratch: the same network with "
              "its weights drawn afresh). Seeds vary the head's initialisation and which labelled e-mails are drawn.",
              "", "| labels | " + " | ".join(METHOD_NAMES[m] for m in METHODS)
              + " | best pretrained − scratch (points) |", "|---" * (len(METHODS) + 2) + "|"]
    gains = {}
    for b in budgets:
        row = [cell(f1s(found.get(("general-task", b, m), []))) for m in METHODS]
        scratch = mean_sd(f1s(found.get(("general-task", b, "scratch"), [])))
        best = None
        for m in METHODS[1:]:
            ms = mean_sd(f1s(found.get(("general-task", b, m), [])))
            if ms is not None and (best is None or ms[0] > best[1]):
                best = (m, ms[0])
        gain = None if scratch is None or best is None else 100 * (best[1] - scratch[0])
        gains[b] = (gain, best)
        row.append("—" if gain is None else f"{gain:+.1f} ({METHOD_NAMES[best[0]]})")
        lines.append(f"| {b} | " + " | ".join(row) + " |")
    lines += ["", "Test ROC AUC of the same runs (threshold-free: how well each ranks spam above ham, where F1 also "
              "depends on where the 0.5 threshold falls):", "",
              "| labels | " + " | ".join(METHOD_NAMES[m] for m in METHODS) + " |", "|---" * (len(METHODS) + 1) + "|"]
    for b in budgets:
        lines.append(f"| {b} | " + " | ".join(cell(aucs(found.get(("general-task", b, m), []))) for m in METHODS)
                     + " |")
    lines.append("")
    full = full_label_run(work)
    if full is not None:
        lines += [f"The full-label run (the target's): {full['method']}, every labelled e-mail "
                  f"({full['metrics']['records']['train']}), {full['epochs']} epoch{'' if full['epochs'] == 1 else 's'}, of which "
                  f"it kept epoch "
                  f"{full['bestEpoch']}: test F1 {full['metrics']['test']['f1']:.3f}, AUC "
                  f"{full['metrics']['test']['auc']:.3f}, precision {full['metrics']['test']['precision']:.3f}, "
                  f"recall {full['metrics']['test']['recall']:.3f} (seed 1).", ""]
    trained = {b: sorted({m2["records"]["train"] for ms in (found.get(("general-task", b, m), []) for m in METHODS)
                          for m2 in ms}) for b in budgets}
    lines += ["Labelled e-mails actually trained on: " + "; ".join(f"{b}: {trained[b]}" for b in budgets)
              + ". Test e-mails: " + ", ".join(sorted({str(m["records"]["test"]) for ms in found.values()
                                                        for m in ms})) + ".", ""]

    ablation = sorted({(k[1], k[2]) for k in found if k[0] in ("general", "task")}, key=lambda x: label_key(x[0]))
    if ablation:
        lines += ["### Which pretraining stages helped", "",
                  "The same fine-tune from each language model (test F1 and ROC AUC, mean ± sd over seeds):", "",
                  "| labels | method | figure | none (scratch) | " + " | ".join(LM_NAMES[n] for n in
                                                                            ("general", "general-task", "task")) + " |",
                  "|---|---|---|---|---|---|---|"]
        for b, m in ablation:
            for figure, values in (("F1", f1s), ("AUC", aucs)):
                row = [cell(values(found.get(("general-task", b, "scratch"), [])))]
                row += [cell(values(found.get((n, b, m), []))) for n in ("general", "general-task", "task")]
                lines.append(f"| {b} | {METHOD_NAMES[m]} | {figure} | " + " | ".join(row) + " |")
        lines.append("")
    lines += ["### Language models", "",
              "Loss per character in nats (guessing uniformly is ln 108 = 4.68 over the general vocabulary's 107 "
              "characters and <unk>, which the general + task model keeps, and ln 161 = 5.08 over the e-mails' 160 "
              "and <unk>, the task-only model's): "
              "training loss averaged over the first and the last progress interval of the run, and the "
              "validation loss at its end (held-out windows of its own corpus; none when the run ended inside an "
              "epoch). Minibatches of 32 windows of 65 characters:", "",
              "| model | steps | first training loss | last training loss | validation loss |", "|---|---|---|---|---|"]
    for n in ("general", "general-task", "task"):
        s = lm_summary(work, n)
        figures = [s["firstTrainLoss"], s["trainLoss"], s["validationLoss"]]
        figures = ["—" if f is None else f"{f:.3f}" for f in figures]
        lines.append(f"| {LM_NAMES[n]} | {s['steps'] if s['steps'] is not None else '—'} | " + " | ".join(figures)
                     + " |")
    lines.append("")
    return gains, found, budgets


def verdict(ok):
    return "**met**" if ok else "**MISSED**"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--conf", required=True)
    p.add_argument("--doc", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--seconds", type=int, required=True)
    p.add_argument("--planned", type=int, required=True)
    p.add_argument("--image-conf", default="")
    p.add_argument("--image-planned", type=int, default=0)
    a = p.parse_args()

    notes = ""
    if Path(a.doc).exists():
        old = Path(a.doc).read_text()
        if NOTES_BEGIN in old and NOTES_END in old:
            notes = old.split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0].strip("\n")

    body = []
    gains, found, budgets = text_section(a.work, body)
    image_gains, full_accuracy = image_section(a.work, body)

    targets = ["## Targets", ""]
    small = [b for b in budgets if b != "all" and int(b) <= 100]
    if small:
        ok = all(gains[b][0] is not None and gains[b][0] >= TARGET_GAIN_POINTS for b in small)
        detail = ", ".join(f"{b} labels {gains[b][0]:+.1f}" if gains[b][0] is not None else f"{b} labels —"
                           for b in small)
        targets.append(f"- Text: pretrained beats scratch by ≥ {TARGET_GAIN_POINTS:.0f} F1 points at ≤ 100 labels: "
                       f"{verdict(ok)} ({detail}; best pretrained method against scratch).")
    if not small:
        targets.append(f"- Text: pretrained beats scratch by ≥ {TARGET_GAIN_POINTS:.0f} F1 points at ≤ 100 labels: "
                       "not measured yet.")
    # The full-label target: the best of the grid's 'all' row (mean over seeds) and the longer full-label run.
    candidates = [(statistics.mean(f1s(found[("general-task", "all", m)])), f"the 'all' row's {METHOD_NAMES[m]}, "
                   f"mean of {len(found[('general-task', 'all', m)])} seeds")
                  for m in METHODS if found.get(("general-task", "all", m))]
    full = full_label_run(a.work)
    if full is not None:
        candidates.append((full["metrics"]["test"]["f1"], f"the full-label run, {full['method']}, seed 1"))
    best = max(candidates, default=None)
    if best is None:
        targets.append(f"- Text: SpamAssassin full-label F1 ≥ {TARGET_SPAM_F1}: not measured yet.")
    else:
        miss = "" if best[0] >= TARGET_SPAM_F1 else f", short by {TARGET_SPAM_F1 - best[0]:.3f}"
        targets.append(f"- Text: SpamAssassin full-label F1 ≥ {TARGET_SPAM_F1}: {verdict(best[0] >= TARGET_SPAM_F1)}"
                       f" (best: {best[0]:.3f}, {best[1]}{miss}).")
    small = [b for b in image_gains if b != "all" and int(b) <= 100]
    if small:
        ok = all(image_gains[b] is not None and image_gains[b][0] >= TARGET_GAIN_POINTS for b in small)
        detail = ", ".join(f"{b} labels {image_gains[b][0]:+.1f} ({PRETRAININGS[image_gains[b][2]][1]}, "
                           f"{METHOD_NAMES[image_gains[b][1]]})" if image_gains[b] is not None else f"{b} labels —"
                           for b in small)
        targets.append(f"- Images: pretrained beats scratch by ≥ {TARGET_GAIN_POINTS:.0f} points of accuracy at ≤ 100 "
                       f"labels (Fashion-MNIST classes 5–9): {verdict(ok)} ({detail}; the best pretraining and "
                       "method against scratch).")
    else:
        targets.append(f"- Images: pretrained beats scratch by ≥ {TARGET_GAIN_POINTS:.0f} points at ≤ 100 labels "
                       "(Fashion-MNIST classes 5–9): not measured yet.")
    if full_accuracy is None:
        targets.append(f"- Images: full-label Fashion-MNIST CNN (10 classes, standard test set) ≥ "
                       f"{TARGET_FULL_IMAGES} test accuracy: not measured yet.")
    else:
        targets.append(f"- Images: full-label Fashion-MNIST CNN (10 classes, standard test set) ≥ "
                       f"{TARGET_FULL_IMAGES} test accuracy: {verdict(full_accuracy >= TARGET_FULL_IMAGES)} "
                       f"({full_accuracy:.4f}).")
    targets.append("")

    seconds = stage_seconds(a.work)
    total = sum(seconds.values())
    timing = ["## How it was made", "",
              f"- Command: `mvn -B -DskipTests package && {a.command}` (settings: `{a.conf}`"
              + (f", `{a.image_conf}`" if a.image_conf else "") + ", `conf/results/*.yaml`).",
              f"- Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; every stage took "
              f"{total // 60} min {total % 60} s of wall time in all"
              + (f" (this invocation {a.seconds // 60} min {a.seconds % 60} s)" if 0 < a.seconds != total else "")
              + ":",
              ""]
    timing += ["| stage | seconds |", "|---|---|"] + [f"| {k} | {v} |" for k, v in seconds.items()] + [""]
    timing += [f"- Machine: {machine()}.", ""]

    page = ["# Does pretraining help?", "",
            "Generated by `scripts/results` from the runs it makes through `bin/anneal`; do not edit except "
            "between the notes markers. The text half follows ULMFiT (Howard & Ruder 2018): a character language "
            "model pretrained on general text, continued on the task's own e-mails without their labels (their "
            "subject and body; train and validation splits only: the test e-mails never reach pretraining), then "
            "the classifier. The image half "
            "pretrains a CNN with labels on five Fashion-MNIST classes, and a convolutional autoencoder on every "
            "training image without labels, and fine-tunes each on the other five classes.", ""]
    partial = []
    for half, planned in (("text", a.planned), ("image", a.image_planned)):
        finished = sum(len(v) for v in runs(a.work, "images" if half == "image" else half).values())
        if finished < planned:
            partial.append(f"{finished} of the {planned} planned {half} fine-tunes finished")
    if partial:
        page += ["**Partial: " + "; ".join(partial) + "**; the cells show the seeds that did (in brackets). "
                 "Rerunning the command completes the rest.", ""]
    page += targets + body + ["## Notes", "", NOTES_BEGIN, notes, NOTES_END, ""] + timing
    Path(a.doc).write_text("\n".join(page))


if __name__ == "__main__":
    main()

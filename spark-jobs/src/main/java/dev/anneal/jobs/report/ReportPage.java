package dev.anneal.jobs.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The HTML of {@code report.html}: one self-contained page (no network at view time) whose tables are written here
 * and whose charts an inline script draws as SVG from the data embedded in the page.
 */
final class ReportPage {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ReportPage() {
    }

    static String html(ObjectNode data) {
        data.set("charts", charts(data));
        String job = data.path("job").asText();
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ")
                .append("script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\n")
                .append("<title>Anneal ").append(esc(job)).append(" report: ").append(esc(data.path("runDir").asText()))
                .append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        b.append("<h1>Anneal ").append(esc(job)).append(" run</h1>\n<p class=\"run\">")
                .append(esc(data.path("runDir").asText())).append("</p>\n");
        b.append("<pre id=\"errors\" hidden></pre>\n");
        for (JsonNode w : data.path("warnings")) {
            b.append("<p class=\"warning\">").append(esc(w.asText())).append("</p>\n");
        }
        b.append("<h2>Summary</h2>\n").append(table(summary(data)));
        for (JsonNode chart : data.path("charts")) {
            b.append("<section class=\"chart-box\"><h2>").append(esc(chart.path("title").asText()))
                    .append("</h2>\n<svg class=\"chart\" id=\"").append(esc(chart.path("id").asText()))
                    .append("\" viewBox=\"0 0 720 320\" role=\"img\"></svg></section>\n");
        }
        JsonNode metrics = data.path("metrics");
        if (metrics.has("test")) {
            b.append("<h2>Final metrics</h2>\n").append(metricsTable(metrics));
            b.append("<h2>Confusion matrix (test)</h2>\n").append(confusion(metrics.path("test").path("confusion")));
        } else if (metrics.path("epochs").size() > 0) {
            JsonNode last = metrics.path("epochs").get(metrics.path("epochs").size() - 1);
            b.append("<h2>Final metrics</h2>\n").append(table(flatten(last)));
        }
        b.append("<h2>Checkpoints</h2>\n").append(checkpoints(data.path("checkpoints"), data.path("latest").asText("")));
        JsonNode start = RunReport.firstEvent(data.path("events"), "start");
        Map<String, String> dataRows = start == null ? new TreeMap<>() : flatten(start.path("data"));
        if (data.path("inputManifest").isObject()) {
            flatten(data.path("inputManifest")).forEach((k, v) -> dataRows.put("input manifest: " + k, v));
        } else if (data.path("inputManifest").isTextual()) {
            dataRows.put("input manifest", data.path("inputManifest").asText());
        }
        b.append("<h2>Data</h2>\n").append(dataRows.isEmpty() ? "<p>No data summary recorded.</p>\n" : table(dataRows));
        JsonNode config = start != null ? start.path("config") : firstCheckpointConfig(data);
        b.append("<h2>Config</h2>\n").append(config.isMissingNode() ? "<p>No config recorded.</p>\n"
                : table(flatten(config)));
        // Inside a script element only "</" could end it early; JSON never needs the plain form.
        String json = data.toString().replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        b.append("<script type=\"application/json\" id=\"anneal-data\">").append(json).append("</script>\n");
        b.append("<script>\n").append(SCRIPT).append("</script>\n</body>\n</html>\n");
        return b.toString();
    }

    /** Loss curves (training loss within and at the end of epochs, validation loss), and for a classifier its
     * validation accuracy and F1; x is the epoch, fractional within one. */
    private static ArrayNode charts(ObjectNode data) {
        JsonNode events = data.path("events");
        ArrayNode train = NODES.arrayNode();
        ArrayNode validation = NODES.arrayNode();
        ArrayNode accuracy = NODES.arrayNode();
        ArrayNode f1 = NODES.arrayNode();
        for (JsonNode e : events) {
            String name = e.path("event").asText();
            int epoch = e.path("epoch").asInt();
            if (name.equals("progress") && e.path("trainLoss").isNumber() && e.path("minibatchesInEpoch").asLong() > 0) {
                point(train, epoch - 1 + e.path("minibatches").asDouble() / e.path("minibatchesInEpoch").asDouble(),
                        e.path("trainLoss"));
            } else if (name.equals("epoch")) {
                point(train, epoch, e.path("trainLoss"));
                point(validation, epoch, e.path("validationLoss"));
                point(accuracy, epoch, e.path("validationAccuracy"));
                point(f1, epoch, e.path("validationF1"));
            }
        }
        if (validation.isEmpty()) {
            // A run from before metrics.jsonl: its metrics.json still has the epochs.
            for (JsonNode e : data.path("metrics").path("epochs")) {
                point(validation, e.path("epoch").asDouble(), e.has("validationLoss") ? e.path("validationLoss")
                        : e.path("validation").path("loss"));
                point(accuracy, e.path("epoch").asDouble(), e.path("validation").path("accuracy"));
                point(f1, e.path("epoch").asDouble(), e.path("validation").path("f1"));
            }
        }
        ArrayNode charts = NODES.arrayNode();
        charts.add(chart("loss-chart", "Loss per epoch", "loss (nats)",
                List.of(series("training loss", "#1f77b4", train), series("validation loss", "#d62728", validation))));
        if (!accuracy.isEmpty() || !f1.isEmpty()) {
            charts.add(chart("validation-chart", "Validation accuracy and F1", "",
                    List.of(series("accuracy", "#2ca02c", accuracy), series("F1", "#9467bd", f1))));
        }
        return charts;
    }

    private static void point(ArrayNode into, double x, JsonNode y) {
        if (y.isNumber() && Double.isFinite(y.asDouble())) {
            into.addArray().add(x).add(y.asDouble());
        }
    }

    private static ObjectNode series(String name, String color, ArrayNode points) {
        ObjectNode s = NODES.objectNode();
        s.put("name", name);
        s.put("color", color);
        s.set("points", points);
        return s;
    }

    private static ObjectNode chart(String id, String title, String yLabel, List<ObjectNode> series) {
        ObjectNode c = NODES.objectNode();
        c.put("id", id);
        c.put("title", title);
        c.put("xLabel", "epoch");
        c.put("yLabel", yLabel);
        ArrayNode s = c.putArray("series");
        series.stream().filter(x -> !x.path("points").isEmpty()).forEach(s::add);
        return c;
    }

    private static Map<String, String> summary(JsonNode data) {
        Map<String, String> rows = new java.util.LinkedHashMap<>();
        rows.put("job", data.path("job").asText());
        List<JsonNode> ends = RunReport.eventsNamed(data.path("events"), "end");
        List<JsonNode> starts = RunReport.eventsNamed(data.path("events"), "start");
        if (!starts.isEmpty()) {
            rows.put("started", starts.get(0).path("time").asText());
            rows.put("attempts", String.valueOf(starts.size()));
        }
        if (!ends.isEmpty()) {
            JsonNode end = ends.get(ends.size() - 1);
            rows.put("status", end.path("status").asText());
            rows.put("ended", end.path("time").asText());
            rows.put("seconds (last attempt)", String.format("%.1f", end.path("seconds").asDouble()));
        } else if (!starts.isEmpty()) {
            rows.put("status", "running, or killed without a trace");
        }
        List<JsonNode> epochs = RunReport.eventsNamed(data.path("events"), "epoch");
        if (!epochs.isEmpty()) {
            JsonNode last = epochs.get(epochs.size() - 1);
            rows.put("epochs", String.valueOf(last.path("epoch").asInt()));
            rows.put("last validation loss", last.has("validationLoss") ? num(last.path("validationLoss")) : "n/a");
            rows.put("samples/s (last epoch)", String.format("%.0f", last.path("samplesPerSecond").asDouble()));
        }
        return rows;
    }

    private static String metricsTable(JsonNode metrics) {
        List<String> keys = List.of("accuracy", "precision", "recall", "f1", "auc", "loss", "count", "positives");
        StringBuilder b = new StringBuilder("<table class=\"metrics\"><tr><th></th>");
        keys.forEach(k -> b.append("<th>").append(k).append("</th>"));
        b.append("</tr>\n");
        for (String split : List.of("validation", "test")) {
            JsonNode m = metrics.path(split);
            if (m.isObject() && !m.isEmpty()) {
                b.append("<tr><th>").append(split).append("</th>");
                keys.forEach(k -> b.append("<td>").append(num(m.path(k))).append("</td>"));
                b.append("</tr>\n");
            }
        }
        JsonNode base = metrics.path("baseline");
        if (base.isObject()) {
            b.append("<tr><th>majority baseline (class ").append(esc(base.path("majority_class").asText()))
                    .append(")</th><td>").append(num(base.path("majority_accuracy"))).append("</td><td></td><td></td><td>")
                    .append(num(base.path("f1"))).append("</td><td></td><td></td><td></td><td></td></tr>\n");
        }
        return b.append("</table>\n").toString();
    }

    private static String confusion(JsonNode c) {
        if (!c.isObject()) {
            return "<p>No confusion counts recorded.</p>\n";
        }
        return "<table class=\"confusion\" id=\"confusion\"><tr><th></th><th>predicted 1</th><th>predicted 0</th></tr>\n"
                + "<tr><th>actual 1</th><td>" + c.path("tp").asLong() + "</td><td>" + c.path("fn").asLong() + "</td></tr>\n"
                + "<tr><th>actual 0</th><td>" + c.path("fp").asLong() + "</td><td>" + c.path("tn").asLong() + "</td></tr>\n"
                + "</table>\n";
    }

    private static String checkpoints(JsonNode list, String latest) {
        if (list.isEmpty()) {
            return "<p>No checkpoints.</p>\n";
        }
        StringBuilder b = new StringBuilder("<table id=\"checkpoints\"><tr><th>checkpoint</th><th>step</th>"
                + "<th>epoch</th><th>written</th><th>size</th><th>metrics</th></tr>\n");
        for (JsonNode c : list) {
            b.append("<tr><td>").append(esc(c.path("name").asText()))
                    .append(c.path("latest").asBoolean() ? " <b>(LATEST)</b>" : "").append("</td><td>")
                    .append(esc(c.path("step").asText())).append("</td><td>").append(esc(c.path("epoch").asText()))
                    .append("</td><td>").append(esc(c.path("createdAt").asText())).append("</td><td>")
                    .append(String.format("%.2f MB", c.path("bytes").asLong() / 1e6)).append("</td><td>");
            flatten(c.path("metrics")).forEach((k, v) -> b.append(esc(k)).append(' ').append(esc(v)).append("<br>"));
            b.append(esc(c.path("problem").asText(""))).append("</td></tr>\n");
        }
        return b.append("</table>\n").toString();
    }

    private static JsonNode firstCheckpointConfig(JsonNode data) {
        for (JsonNode c : data.path("checkpoints")) {
            return c.path("config");
        }
        return NODES.missingNode();
    }

    /** Nested objects as dotted keys, sorted. */
    static Map<String, String> flatten(JsonNode node) {
        Map<String, String> out = new TreeMap<>();
        flatten("", node, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> flatten(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(),
                    f.getValue(), out));
        } else if (!node.isMissingNode()) {
            out.put(prefix, node.isValueNode() ? num(node) : node.toString());
        }
    }

    private static String table(Map<String, String> rows) {
        StringBuilder b = new StringBuilder("<table>");
        rows.forEach((k, v) -> b.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v))
                .append("</td></tr>\n"));
        return b.append("</table>\n").toString();
    }

    private static String num(JsonNode v) {
        if (v.isFloatingPointNumber()) {
            return String.format("%.4f", v.asDouble());
        }
        return v.isMissingNode() || v.isNull() ? "" : v.asText();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final String CSS = """
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1000px; }
            h1 { margin-bottom: 0; } .run { color: #666; margin-top: 0.2em; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
            th { background: #f5f5f5; font-weight: 600; }
            .confusion td { text-align: right; min-width: 5em; }
            .chart { width: 720px; height: 320px; border: 1px solid #ddd; background: #fff; }
            .warning, #errors { color: #a00; }
            """;

    /** Draws every chart of the embedded data as SVG: axes with ticks, one polyline and dots per series, a legend. */
    private static final String SCRIPT = """
            (function () {
              'use strict';
              var errors = document.getElementById('errors');
              window.addEventListener('error', function (e) {
                errors.hidden = false;
                errors.textContent += (e.message || String(e)) + '\\n';
                document.body.setAttribute('data-rendered', 'error');
              });
              var NS = 'http://www.w3.org/2000/svg';
              var data = JSON.parse(document.getElementById('anneal-data').textContent);
              function el(parent, name, attrs, text) {
                var e = document.createElementNS(NS, name);
                Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
                if (text !== undefined) { e.textContent = text; }
                parent.appendChild(e);
                return e;
              }
              function ticks(lo, hi, n) {
                var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n || 1)));
                [1, 2, 5, 10].some(function (m) { if ((hi - lo) / (step * m) <= n) { step *= m; return true; } return false; });
                var out = [];
                for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) { out.push(t); }
                return out;
              }
              function draw(chart) {
                var svg = document.getElementById(chart.id);
                var W = 720, H = 320, L = 60, R = 150, T = 15, B = 45;
                var pts = [];
                chart.series.forEach(function (s) { pts = pts.concat(s.points); });
                if (pts.length === 0) {
                  el(svg, 'text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'}, 'no figures recorded yet');
                  svg.setAttribute('data-series', '0');
                  return;
                }
                var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
                var x0 = Math.min(0, Math.min.apply(null, xs)), x1 = Math.max.apply(null, xs);
                var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
                if (x1 === x0) { x1 = x0 + 1; }
                var pad = (y1 - y0) * 0.08 || Math.abs(y0) * 0.1 || 1;
                y0 -= pad; y1 += pad;
                function sx(x) { return L + (x - x0) / (x1 - x0) * (W - L - R); }
                function sy(y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); }
                el(svg, 'line', {x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#444'});
                el(svg, 'line', {x1: L, y1: T, x2: L, y2: H - B, stroke: '#444'});
                ticks(x0, x1, 8).forEach(function (t) {
                  el(svg, 'line', {x1: sx(t), y1: H - B, x2: sx(t), y2: H - B + 4, stroke: '#444'});
                  el(svg, 'text', {x: sx(t), y: H - B + 16, 'text-anchor': 'middle', 'font-size': 11}, String(+t.toFixed(2)));
                });
                ticks(y0, y1, 6).forEach(function (t) {
                  el(svg, 'line', {x1: L, y1: sy(t), x2: W - R, y2: sy(t), stroke: '#eee'});
                  el(svg, 'text', {x: L - 6, y: sy(t) + 4, 'text-anchor': 'end', 'font-size': 11}, String(+t.toFixed(3)));
                });
                el(svg, 'text', {x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 12}, chart.xLabel);
                if (chart.yLabel) {
                  el(svg, 'text', {x: 14, y: (T + H - B) / 2, 'font-size': 12, 'text-anchor': 'middle',
                    transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')'}, chart.yLabel);
                }
                chart.series.forEach(function (s, i) {
                  var sorted = s.points.slice().sort(function (a, b) { return a[0] - b[0]; });
                  var line = sorted.map(function (p) { return sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1); }).join(' ');
                  el(svg, 'polyline', {points: line, fill: 'none', stroke: s.color, 'stroke-width': 2,
                    'class': 'series', 'data-name': s.name, 'data-count': sorted.length});
                  sorted.forEach(function (p) {
                    el(svg, 'circle', {cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: s.color});
                  });
                  el(svg, 'rect', {x: W - R + 12, y: T + 10 + i * 20, width: 14, height: 4, fill: s.color});
                  el(svg, 'text', {x: W - R + 32, y: T + 15 + i * 20, 'font-size': 12}, s.name);
                });
                svg.setAttribute('data-series', String(chart.series.length));
              }
              data.charts.forEach(draw);
              if (document.body.getAttribute('data-rendered') !== 'error') {
                document.body.setAttribute('data-rendered', 'ok');
              }
            })();
            """;
}

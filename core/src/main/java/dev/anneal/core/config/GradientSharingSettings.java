package dev.anneal.core.config;

import java.util.List;

/**
 * The gradient-sharing engine's knobs: how updates are encoded and the UDP transport's addresses.
 *
 * <p>Each worker adds its update to a residual and sends only the entries whose magnitude passes a threshold, as
 * ±threshold (Strom 2015); the rest stays in the residual for later steps. DL4J sends each message as a list of
 * indices or as a bitmap, whichever is smaller for the message's sparsity.
 *
 * @param thresholdAlgorithm  how the threshold moves: {@code adaptive} keeps the share of sent entries between 1e-4
 *                            and 1e-2, {@code target-sparsity} steers it towards {@code sparsityTarget},
 *                            {@code fixed} never moves it
 * @param threshold           the initial (for fixed: the only) threshold
 * @param sparsityTarget      target-sparsity only: the share of entries to send per update
 * @param residualClip        every {@code residualClipEvery} steps, clip the residual to ± this multiple of the
 *                            threshold so stale mass cannot pile up; 0 = never
 * @param residualClipEvery   steps between residual clippings
 * @param workersPerNode      trainer threads per executor JVM, sharing its copy of the model and its transport;
 *                            0 = the tasks one executor runs at once (its cores ÷ spark.task.cpus; in local mode
 *                            the local cores)
 * @param port                UDP port of the transport on the driver; executors use port + 1 + their executor number
 * @param networkMask         the network the transport binds to, e.g. 10.0.0.0/16; 127.0.0.0/8 keeps it on loopback
 * @param controller          the driver's address for the transport; empty lets DL4J pick one on networkMask
 */
public record GradientSharingSettings(String thresholdAlgorithm, double threshold, double sparsityTarget,
                                      double residualClip, int residualClipEvery, int workersPerNode, int port,
                                      String networkMask, String controller) {
    public static final String ADAPTIVE = "adaptive";
    public static final String FIXED = "fixed";
    public static final String TARGET_SPARSITY = "target-sparsity";
    public static final List<String> ALGORITHMS = List.of(ADAPTIVE, FIXED, TARGET_SPARSITY);

    public GradientSharingSettings {
        if (!ALGORITHMS.contains(thresholdAlgorithm)) {
            throw new ConfigException("training.gradientSharing.thresholdAlgorithm must be one of " + ALGORITHMS
                    + ", got '" + thresholdAlgorithm + "'");
        }
        Require.positive("training.gradientSharing.threshold", threshold);
        Require.positive("training.gradientSharing.sparsityTarget", sparsityTarget);
        Require.fraction("training.gradientSharing.sparsityTarget", sparsityTarget);
        Require.nonNegative("training.gradientSharing.residualClip", residualClip);
        Require.positive("training.gradientSharing.residualClipEvery", residualClipEvery);
        Require.atLeast("training.gradientSharing.workersPerNode", workersPerNode, 0);
        if (port < 1024 || port > 65000) {
            throw new ConfigException("training.gradientSharing.port must be in [1024, 65000], got " + port);
        }
        if (!networkMask.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}")) {
            throw new ConfigException("training.gradientSharing.networkMask must look like 10.0.0.0/16, got '"
                    + networkMask + "'");
        }
    }

    /** Loopback defaults, for local mode and tests. */
    public static GradientSharingSettings loopback() {
        return new GradientSharingSettings(ADAPTIVE, 1e-3, 1e-3, 5, 5, 0, 40123, "127.0.0.0/8", "127.0.0.1");
    }

    /** The defaults with another threshold algorithm and initial threshold. */
    public GradientSharingSettings withThreshold(String algorithm, double initialThreshold) {
        return new GradientSharingSettings(algorithm, initialThreshold, sparsityTarget, residualClip,
                residualClipEvery, workersPerNode, port, networkMask, controller);
    }

    /** The same settings with another driver port (executors follow it). */
    public GradientSharingSettings withPort(int newPort) {
        return new GradientSharingSettings(thresholdAlgorithm, threshold, sparsityTarget, residualClip,
                residualClipEvery, workersPerNode, newPort, networkMask, controller);
    }

    static List<ConfigField> fields() {
        GradientSharingSettings d = loopback();
        return List.of(
                ConfigField.choice("training.gradientSharing.thresholdAlgorithm", d.thresholdAlgorithm(), ALGORITHMS,
                        "gradient-sharing: how the update-encoding threshold moves. adaptive keeps the share of "
                                + "entries sent per update between 1e-4 and 1e-2; target-sparsity steers it to "
                                + "sparsityTarget; fixed keeps the initial threshold."),
                ConfigField.decimal("training.gradientSharing.threshold", d.threshold(),
                        "gradient-sharing: initial threshold; update entries above it are sent as +-threshold, the "
                                + "rest kept as a residual. Near the learning rate for Adam."),
                ConfigField.decimal("training.gradientSharing.sparsityTarget", d.sparsityTarget(),
                        "gradient-sharing, target-sparsity only: share of entries to send per update."),
                ConfigField.decimal("training.gradientSharing.residualClip", d.residualClip(),
                        "gradient-sharing: clip the residual to +- this multiple of the threshold every "
                                + "residualClipEvery steps; 0 = never."),
                ConfigField.integer("training.gradientSharing.residualClipEvery", d.residualClipEvery(),
                        "gradient-sharing: steps between residual clippings."),
                ConfigField.integer("training.gradientSharing.workersPerNode", d.workersPerNode(),
                        "gradient-sharing: trainer threads per executor JVM; 0 = the tasks an executor runs at "
                                + "once (spark.executor.cores / spark.task.cpus; local mode: the local cores)."),
                ConfigField.integer("training.gradientSharing.port", d.port(),
                        "gradient-sharing: UDP port of the driver's transport; executor n uses port + 1 + n."),
                ConfigField.string("training.gradientSharing.networkMask", d.networkMask(),
                        "gradient-sharing: network the transport binds to (127.0.0.0/8 = loopback)."),
                ConfigField.string("training.gradientSharing.controller", d.controller(),
                        "gradient-sharing: the driver's address for the transport; empty = DL4J picks one."));
    }

    static GradientSharingSettings from(ConfigValues v) {
        return new GradientSharingSettings(v.string("training.gradientSharing.thresholdAlgorithm"),
                v.decimal("training.gradientSharing.threshold"), v.decimal("training.gradientSharing.sparsityTarget"),
                v.decimal("training.gradientSharing.residualClip"),
                v.integer("training.gradientSharing.residualClipEvery"),
                v.integer("training.gradientSharing.workersPerNode"), v.integer("training.gradientSharing.port"),
                v.string("training.gradientSharing.networkMask"), v.string("training.gradientSharing.controller"));
    }
}

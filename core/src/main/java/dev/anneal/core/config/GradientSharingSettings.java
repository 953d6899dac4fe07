package dev.anneal.core.config;

import java.util.List;

/**
 * The gradient-sharing engine's knobs: the update-encoding threshold and the UDP transport's addresses.
 *
 * @param threshold   initial threshold of the adaptive encoding: update entries above it are sent, the rest kept
 *                    as a residual
 * @param port        UDP port of the transport on the driver; executors use port + 1 + their executor number
 * @param networkMask the network the transport binds to, e.g. 10.0.0.0/16; 127.0.0.0/8 keeps it on loopback
 * @param controller  the driver's address for the transport; empty lets DL4J pick one on networkMask
 */
public record GradientSharingSettings(double threshold, int port, String networkMask, String controller) {
    public GradientSharingSettings {
        Require.positive("training.gradientSharing.threshold", threshold);
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
        return new GradientSharingSettings(1e-3, 40123, "127.0.0.0/8", "127.0.0.1");
    }

    static List<ConfigField> fields() {
        GradientSharingSettings d = loopback();
        return List.of(
                ConfigField.decimal("training.gradientSharing.threshold", d.threshold(),
                        "gradient-sharing: initial threshold of the adaptive update encoding."),
                ConfigField.integer("training.gradientSharing.port", d.port(),
                        "gradient-sharing: UDP port of the driver's transport; executor n uses port + 1 + n."),
                ConfigField.string("training.gradientSharing.networkMask", d.networkMask(),
                        "gradient-sharing: network the transport binds to (127.0.0.0/8 = loopback)."),
                ConfigField.string("training.gradientSharing.controller", d.controller(),
                        "gradient-sharing: the driver's address for the transport; empty = DL4J picks one."));
    }

    static GradientSharingSettings from(ConfigValues v) {
        return new GradientSharingSettings(v.decimal("training.gradientSharing.threshold"),
                v.integer("training.gradientSharing.port"), v.string("training.gradientSharing.networkMask"),
                v.string("training.gradientSharing.controller"));
    }
}

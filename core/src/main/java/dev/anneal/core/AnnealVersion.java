package dev.anneal.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The version of Anneal that is running, as the build stamped it; checkpoints record it. */
public final class AnnealVersion {
    private static final String VERSION = load();

    private AnnealVersion() {
    }

    public static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = AnnealVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}

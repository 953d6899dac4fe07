package dev.anneal.jobs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Loads a page in a real headless Chromium (Debian's {@code chromium}) and returns the DOM after its scripts ran and
 * every message the page wrote to the console (script errors among them). No network, a fresh profile each time.
 */
final class HeadlessChromium {
    /** The DOM as Chromium serialised it, and the console messages (Chromium's {@code CONSOLE} log lines). */
    record Page(String dom, List<String> console, String log) {
    }

    private HeadlessChromium() {
    }

    static String binary() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        throw new AssertionError("no chromium on PATH: the report check needs a real browser (Debian: apt-get "
                + "install -y chromium; .ci/run installs it)");
    }

    static Page load(Path html, Path scratch) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(scratch, "chromium-profile-");
        Path out = scratch.resolve("dom-" + System.nanoTime() + ".html");
        Path err = scratch.resolve("chromium-" + System.nanoTime() + ".log");
        List<String> cmd = new ArrayList<>(List.of(binary(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                "--dump-dom", html.toUri().toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish loading " + html + " within 90 s");
        }
        String log = Files.readString(err, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("chromium exited " + p.exitValue() + " on " + html + ":\n" + log);
        }
        List<String> console = log.lines().filter(l -> l.contains(":CONSOLE")).toList();
        return new Page(Files.readString(out, StandardCharsets.UTF_8), console, log);
    }
}

package dev.anneal.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** Process trees of the test clusters' daemons and executors: listing, waiting for, describing. */
public final class ProcessTrees {
    private ProcessTrees() {
    }

    /** {@code root} and all its descendants. */
    static List<ProcessHandle> tree(ProcessHandle root) {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(root);
        root.descendants().forEach(all::add);
        return all;
    }

    /** Waits up to {@code nanos} for {@code h} to end; returns either way. */
    static void awaitExit(ProcessHandle h, long nanos) throws InterruptedException {
        try {
            h.onExit().get(nanos, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // still alive: the caller decides
        }
    }

    /** A line per process: pid and command line, for assertion messages. */
    public static String describe(List<ProcessHandle> processes) {
        return processes.stream().map(h -> h.pid() + " " + h.info().commandLine().orElse("?"))
                .collect(Collectors.joining("\n"));
    }
}

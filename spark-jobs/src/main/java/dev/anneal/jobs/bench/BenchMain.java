package dev.anneal.jobs.bench;

/**
 * Runs a benchmark's body and ends the JVM: 0 after it, 1 after a failure (its stack trace printed). Spark 3.5 leaves
 * a non-daemon timer thread ("Barrier task timer for barrier() calls.") in a JVM whose tasks used barrier mode
 * (local-sgd), so the JVM would not end on its own, nor after a failure; bin/anneal's Main exits likewise.
 */
final class BenchMain {
    private BenchMain() {
    }

    interface Body {
        void run(String[] args) throws Exception;
    }

    static void exitAfter(Body body, String[] args) {
        try {
            body.run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}

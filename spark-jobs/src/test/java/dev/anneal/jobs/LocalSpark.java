package dev.anneal.jobs;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Owns one local[2] Spark session for a test class: started before its first test, stopped after its last. Jobs
 * under test get the same session from {@code SparkSession.builder().getOrCreate()}.
 */
public final class LocalSpark implements BeforeAllCallback, AfterAllCallback {
    private SparkSession session;

    @Override
    public void beforeAll(ExtensionContext context) {
        session = SparkSetup.session("test", "local[2]");
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (session != null) {
            session.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    public SparkSession session() {
        return session;
    }

    public JavaSparkContext context() {
        return SparkSetup.context(session);
    }
}

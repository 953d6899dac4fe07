package dev.anneal.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session a job runs in: the master spark-submit set (or the config's, or local mode), Kryo with ND4J's
 * registrator, and an application name that says which job it is.
 */
public final class SparkSetup {
    private SparkSetup() {
    }

    /**
     * Gets or creates the session.
     *
     * @param master the config's {@code spark.master}; empty leaves the one spark-submit set, else {@code local[*]}
     */
    public static SparkSession session(String job, String master) {
        SparkConf conf = new SparkConf();
        if (!master.isBlank()) {
            conf.setMaster(master);
        } else if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
        }
        conf.setIfMissing("spark.app.name", "anneal " + job);
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrator", AnnealKryoRegistrator.class.getName());
        conf.setIfMissing("spark.ui.enabled", "false");
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        if (conf.get("spark.master").startsWith("local")) {
            // Keep a laptop run on loopback instead of the first network interface.
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        return SparkSession.builder().config(conf).getOrCreate();
    }

    public static JavaSparkContext context(SparkSession session) {
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}

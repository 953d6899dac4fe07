package dev.anneal.jobs;

import dev.anneal.core.config.ExecutorSettings;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session a job runs in: the master spark-submit set (or the config's, or local mode), Kryo with ND4J's
 * registrator, task results of up to 64 MB sent directly, and an application name that says which job it is.
 */
public final class SparkSetup {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SparkSetup.class);
    static final String MAX_DIRECT_RESULT = "spark.task.maxDirectResultSize";
    static final String KRYO_UNSAFE = "spark.kryo.unsafe";
    static final String BROADCAST_COMPRESS = "spark.broadcast.compress";

    private SparkSetup() {
    }

    /**
     * Gets or creates the session.
     *
     * @param master the config's {@code spark.master}; empty leaves the one spark-submit set, else {@code local[*]}
     */
    public static SparkSession session(String job, String master) {
        return session(job, master, ExecutorSettings.defaults());
    }

    /**
     * Gets or creates the session, with executors sized by {@code executor}: on a cluster master the executor JVMs
     * start with those limits (see {@link ExecutorResources}); local mode runs in this JVM, whose limits the
     * launcher set.
     */
    public static SparkSession session(String job, String master, ExecutorSettings executor) {
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
        // The local-sgd engine's workers return parameters and optimizer state every round, several MB for most
        // networks. Above this size a task result goes through the block manager (one more fetch per round);
        // directly, the benchmark MLP's passes took about 15 % less time. Spark caps it at spark.rpc.message.maxSize.
        conf.setIfMissing(MAX_DIRECT_RESULT, "64m");
        // Kryo's default streams write a float array element by element (bounds check, bit conversion and four byte
        // writes for each); the unsafe ones copy it in bulk. Local SGD ships parameters and Adam's state both ways
        // every round, and ND4J's arrays travel as float buffers too. Only within one job's JVMs: all x86.
        conf.setIfMissing(KRYO_UNSAFE, "true");
        // The model broadcasts are float arrays, which LZ4 hardly shrinks, and compressing them took the driver's
        // time every round; in local mode the tasks read the driver's own copy and never the compressed blocks.
        conf.setIfMissing(BROADCAST_COMPRESS, "false");
        BlasKernels.sayOnce();
        if (conf.get("spark.master").startsWith("local")) {
            // Keep a laptop run on loopback instead of the first network interface.
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        } else {
            LOG.info("{}", ExecutorResources.apply(conf, executor));
        }
        return SparkSession.builder().config(conf).getOrCreate();
    }

    public static JavaSparkContext context(SparkSession session) {
        return JavaSparkContext.fromSparkContext(session.sparkContext());
    }
}

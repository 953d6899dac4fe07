package dev.anneal.jobs.engine;

import org.apache.spark.SparkEnv;
import org.nd4j.parameterserver.distributed.v2.transport.PortSupplier;

/**
 * Gives each executor JVM its own UDP port for the gradient-sharing transport: base port for the driver, base + 1 +
 * the executor's number otherwise. DL4J's static supplier hands every JVM the same port, so executors sharing a host
 * would share one port and silently exchange nothing.
 */
final class ExecutorPortSupplier implements PortSupplier {
    private static final long serialVersionUID = 1L;
    private final int basePort;

    ExecutorPortSupplier(int basePort) {
        this.basePort = basePort;
    }

    @Override
    public int getPort() {
        SparkEnv env = SparkEnv.get();
        String id = env == null ? "driver" : env.executorId();
        try {
            return basePort + 1 + Integer.parseInt(id);
        } catch (NumberFormatException e) {
            return basePort;
        }
    }
}

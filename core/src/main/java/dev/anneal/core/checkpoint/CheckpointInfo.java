package dev.anneal.core.checkpoint;

import java.util.Map;

/**
 * How a checkpoint was made: which job, how far it had trained, with what seed, network and config.
 *
 * @param job     the job that wrote it ({@code pretrain}, {@code finetune})
 * @param step    minibatches trained so far
 * @param epoch   complete passes over the data so far
 * @param seed    the run's seed
 * @param network what the graph is: {@code kind}, {@code encoderOutput}, {@code head} and the spec's sizes
 * @param config  the job config that trained it
 * @param metrics figures measured when it was written (losses, scores)
 * @param cursor  where in the data the run stood (the epoch in progress and the minibatches of it done); empty when
 *                the checkpoint was written at the end of an epoch by a job that does not resume mid-epoch
 */
public record CheckpointInfo(String job, long step, int epoch, long seed, Map<String, Object> network,
                             Map<String, Object> config, Map<String, Object> metrics, Map<String, Object> cursor) {
    public CheckpointInfo {
        network = Map.copyOf(network);
        config = Map.copyOf(config);
        metrics = Map.copyOf(metrics);
        cursor = Map.copyOf(cursor);
    }

    /** A checkpoint without a data cursor. */
    public CheckpointInfo(String job, long step, int epoch, long seed, Map<String, Object> network,
                          Map<String, Object> config, Map<String, Object> metrics) {
        this(job, step, epoch, seed, network, config, metrics, Map.of());
    }

    /** The network's kind as {@code NetworkSpec.kind()} names it. */
    public String networkKind() {
        return String.valueOf(network.get("kind"));
    }
}

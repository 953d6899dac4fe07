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
 */
public record CheckpointInfo(String job, long step, int epoch, long seed, Map<String, Object> network,
                             Map<String, Object> config, Map<String, Object> metrics) {
    public CheckpointInfo {
        network = Map.copyOf(network);
        config = Map.copyOf(config);
        metrics = Map.copyOf(metrics);
    }

    /** The network's kind as {@code NetworkSpec.kind()} names it. */
    public String networkKind() {
        return String.valueOf(network.get("kind"));
    }
}

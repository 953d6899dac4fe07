package dev.anneal.core.checkpoint;

import dev.anneal.core.text.CharVocabulary;
import org.deeplearning4j.nn.graph.ComputationGraph;

/** A trained network with the vocabulary it reads and the record of how it was made. */
public record Checkpoint(ComputationGraph graph, CharVocabulary vocabulary, CheckpointInfo info) {
}

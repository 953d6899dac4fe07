package dev.anneal.core.checkpoint;

import dev.anneal.core.net.LanguageModelBatches;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A checkpoint written by Anneal 0.1.0 (format version 1) and kept in test resources must keep loading, with the
 * same predictions, so that a change of the format is a deliberate one.
 */
class GoldenCheckpointTest {
    /** Next-character probabilities of the golden model for the input "abca", as written with it. */
    private static final float[] EXPECTED = {0.14967957f, 0.1422439f, 0.14260404f, 0.1560675f, 0.14960925f,
            0.13835847f, 0.16711514f, 0.1660517f, 0.17672929f, 0.1799939f, 0.18201786f, 0.1791896f, 0.17248125f,
            0.17922637f, 0.18346873f, 0.17466265f, 0.18085097f, 0.17964984f};

    @Test
    void formatVersionOneStillLoadsAndPredictsTheSame() throws URISyntaxException {
        Path golden = new Path(getClass().getResource("/golden/format-1/manifest.json").toURI()).getParent();
        Checkpoint checkpoint = new CheckpointStore(new Configuration()).read(golden, true);

        assertEquals("pretrain", checkpoint.info().job());
        assertEquals("lstm-lm", checkpoint.info().networkKind());
        assertEquals(6, checkpoint.vocabulary().size());
        float[] actual = checkpoint.graph().outputSingle(LanguageModelBatches.languageModelBatch(
                new int[][] {checkpoint.vocabulary().encode("abca")}, checkpoint.vocabulary().size())
                .getFeatures()).ravel().toFloatVector();
        assertArrayEquals(EXPECTED, actual, 1e-6f);
    }
}

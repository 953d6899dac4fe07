package dev.anneal.jobs.engine;

import dev.anneal.core.net.Loss;
import dev.anneal.core.net.MlpSpec;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Local SGD's sparse exchange: which entries a worker sends, what it keeps, and what every worker ends with. */
class SparseDeltaTest {
    private static final MlpSpec SPEC = new MlpSpec(20, List.of(16), 4, Loss.SOFTMAX_CROSS_ENTROPY);

    @Test
    void selectsTheLargestMagnitudesInIndexOrderAndTheLowerIndicesAmongTies() {
        float[] d = {0.5f, -3f, 2f, 0f, -2f, 1f, 2f, -0.25f};
        SparseDelta delta = new SparseDelta(new float[d.length], new float[d.length], 3);

        assertEquals(3, delta.select(d));

        // -3 first, then three entries of magnitude 2 of which the two lowest indices.
        String message = delta.encode(Nd4j.createFromArray(d), 1, 0);
        float[] base = new float[d.length];
        SparseDelta receiver = new SparseDelta(base, new float[d.length], 3);
        receiver.apply(new String[] {message}, network(d.length));
        assertArrayEquals(new float[] {0, -3f, 2f, 0, -2f, 0, 0, 0}, base);
        assertArrayEquals(new float[] {0.5f, 0, 0, 0, 0, 1f, 2f, -0.25f}, delta.residual,
                "what was not sent is kept");
    }

    /**
     * Two workers start from the same base with different changes; after the exchange both hold the same base, the
     * old base plus the mean of what was sent, and each worker's residual plus what it sent is its whole change.
     */
    @Test
    void everyWorkerEndsWithTheSameParametersAndNothingIsLost() {
        ComputationGraph net = SPEC.build(1, new Adam(1e-2), DataType.FLOAT);
        int n = (int) net.numParams();
        float[] start = net.params().toFloatVector();
        Random random = new Random(3);
        float[][] ends = new float[2][n];
        for (float[] end : ends) {
            for (int i = 0; i < n; i++) {
                end[i] = start[i] + (float) random.nextGaussian() * (i % 7 == 0 ? 1f : 0.01f);
            }
        }
        int k = SparseDelta.entries(0.1, n);
        SparseDelta[] workers = {new SparseDelta(start.clone(), new float[n], k),
                new SparseDelta(start.clone(), new float[n], k)};
        String[] messages = new String[2];
        for (int w = 0; w < 2; w++) {
            messages[w] = workers[w].encode(Nd4j.createFromArray(ends[w]), 5, 0.5 + w);
        }
        float[][] sent = new float[2][];
        for (int w = 0; w < 2; w++) {
            float[] alone = new float[n];
            new SparseDelta(alone, new float[n], k).apply(new String[] {messages[w]}, network(n));
            sent[w] = alone;
            int nonZero = 0;
            for (int i = 0; i < n; i++) {
                nonZero += alone[i] != 0 ? 1 : 0;
                assertEquals(ends[w][i] - start[i], alone[i] + workers[w].residual[i], 1e-6f,
                        "worker " + w + ", parameter " + i + ": sent + kept = its change");
            }
            assertEquals(k, nonZero, "k entries sent");
        }
        for (int w = 0; w < 2; w++) {
            ComputationGraph worker = SPEC.build(2, new Adam(1e-2), DataType.FLOAT);
            SparseDelta.Round round = workers[w].apply(messages, worker);
            assertEquals(2, round.workers);
            assertEquals(5, round.maxSteps);
            assertEquals(2.0, round.scoreSum, 1e-12);
            for (int i = 0; i < n; i++) {
                assertEquals(start[i] + (sent[0][i] + sent[1][i]) / 2, workers[w].base[i], 1e-6f, "parameter " + i);
            }
            assertArrayEquals(workers[w].base, worker.params().toFloatVector(), 0f, "written into the network");
        }
        assertArrayEquals(workers[0].base, workers[1].base, 0f, "both workers hold the same parameters");
    }

    /**
     * Values as bfloat16 (2 bytes) and index gaps under 128 as one byte: 3 bytes an entry when they are dense, at 7
     * bits a character.
     */
    @Test
    void aMessageCostsThreeBytesAnEntryWhenItsIndicesAreClose() {
        int n = 1000;
        float[] d = new float[n];
        Arrays.fill(d, 0, 300, 1.5f);
        SparseDelta delta = new SparseDelta(new float[n], new float[n], 300);
        assertEquals(characters(SparseDelta.HEADER + 3 * 300), delta.encode(Nd4j.createFromArray(d), 1, 0).length());
        d[999] = 9f;
        assertEquals(characters(SparseDelta.HEADER + 3 * 300 + 1), delta.encode(Nd4j.createFromArray(d), 1, 0).length(),
                "a gap of 700 takes two bytes");
        assertEquals(SparseDelta.bfloat16(1.5f), (short) 0x3fc0);
        assertEquals(1.0078125f, SparseDelta.widen(SparseDelta.bfloat16(1.0078125f)), "exact in bfloat16");
        assertEquals(1.0f, SparseDelta.widen(SparseDelta.bfloat16(1.00390625f)), "ties round to even");
    }

    private static int characters(int bytes) {
        return (8 * bytes + 6) / 7;
    }

    /** Any bytes, any length: 7 bits a character, every character below 128, and back unchanged. */
    @Test
    void packsBytesSevenBitsACharacterAndBack() {
        Random random = new Random(11);
        for (int length = 0; length < 40; length++) {
            byte[] bytes = new byte[length + 3];
            random.nextBytes(bytes);
            String packed = SparseDelta.pack7(bytes, length);
            assertEquals(characters(length), packed.length(), "length " + length);
            assertTrue(packed.chars().allMatch(c -> c < 0x80), "7 bits a character");
            assertArrayEquals(Arrays.copyOf(bytes, length), SparseDelta.unpack7(packed), "length " + length);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> SparseDelta.unpack7("ab\u00ffc"));
        assertTrue(e.getMessage().contains("character 255 at 2"), e.getMessage());
    }

    /** On a cluster Spark's RPC writes a message's characters in modified UTF-8: 0 and those above 127 take two. */
    @Test
    void aMessageSerializesToOneByteACharacterBelow128AndTwoForTheRest() {
        assertEquals(6, LocalSgdPass.serializedLength("a\u0000b\u00ff"));
        assertEquals(0, LocalSgdPass.serializedLength(""));
        assertEquals(3, LocalSgdPass.serializedLength("\u007f\u0080"));
    }

    @Test
    void aMessageForAnotherNetworkIsRefusedWithBothSizes() {
        SparseDelta small = new SparseDelta(new float[10], new float[10], 2);
        String message = small.encode(Nd4j.createFromArray(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), 1, 0);
        SparseDelta other = new SparseDelta(new float[12], new float[12], 2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> other.apply(new String[] {message}, network(12)));
        assertTrue(e.getMessage().contains("for 10 parameters") && e.getMessage().contains("has 12"), e.getMessage());
    }

    /**
     * A task takes what its own partition's worker left in this JVM, else another's that its attempt did not take
     * yet; a retried pass takes the same again; only the successful attempt's states count; another engine's are
     * dropped.
     */
    @Test
    void whatAPassLeavesIsTakenOncePerAttemptOwnPartitionFirst() {
        String engine = "test-" + System.nanoTime();
        SparseDelta.Left zero = left(1);
        SparseDelta.Left one = left(2);
        SparseDelta.keep(engine, 0, 0, 0, zero);
        SparseDelta.keep(engine, 0, 0, 1, one);

        SparseDelta.Left taken = SparseDelta.take(engine, 0, 0, 1, 0, 1, 2);
        assertArrayEquals(one.residual(), taken.residual(), "its own partition's first");
        assertArrayEquals(one.updater(), taken.updater());
        assertArrayEquals(one.params(), taken.params());
        taken.residual()[0] = 99;
        assertEquals(2f, one.residual()[0], "what was kept is copied, not handed out");
        assertArrayEquals(zero.residual(), SparseDelta.take(engine, 0, 0, 1, 0, 7, 2).residual(),
                "a partition whose own is elsewhere takes one no task of its attempt took");
        assertNull(SparseDelta.take(engine, 0, 0, 1, 0, 0, 2), "each state once per attempt");
        assertArrayEquals(zero.residual(), SparseDelta.take(engine, 0, 0, 1, 1, 0, 2).residual(),
                "a retried pass takes the same again");
        assertNull(SparseDelta.take(engine, 0, 0, 1, 2, 0, 3), "another network's: none");

        SparseDelta.Left stale = left(5);
        SparseDelta.Left fresh = left(6);
        SparseDelta.keep(engine, 1, 0, 0, stale);
        SparseDelta.keep(engine, 1, 1, 1, fresh);
        assertArrayEquals(fresh.residual(), SparseDelta.take(engine, 1, 1, 2, 0, 0, 2).residual(),
                "only what the successful attempt left");
        assertNull(SparseDelta.take(engine, 1, 1, 2, 0, 1, 2), "the failed attempt's state is never taken");

        SparseDelta.keep("other-" + engine, 0, 0, 0, zero);
        assertNull(SparseDelta.take(engine, 1, 1, 2, 1, 1, 2), "only the engine that last kept any keeps them");
        SparseDelta.forget("other-" + engine);
        assertNull(SparseDelta.take("other-" + engine, 0, 0, 1, 0, 0, 2));
    }

    private static SparseDelta.Left left(float value) {
        return new SparseDelta.Left(new float[] {value, value}, new float[] {value + 10}, new float[] {value, 0});
    }

    private static ComputationGraph network(int parameters) {
        ComputationGraph net = new MlpSpec(parameters - 1, List.of(), 1, Loss.MSE).build(1, new Adam(1e-2),
                DataType.FLOAT);
        assertEquals(parameters, net.numParams());
        return net;
    }
}

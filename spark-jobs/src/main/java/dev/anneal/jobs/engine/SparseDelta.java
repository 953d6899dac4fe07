package dev.anneal.jobs.engine;

import dev.anneal.core.net.NativeFloats;
import dev.anneal.jobs.engine.LocalSgdPass.Mean;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * One worker's side of local SGD's sparse exchange ({@code training.localSgd.density} below 1): top-k sparsification
 * with error feedback (Stich et al. 2018, "Sparsified SGD with memory"; with local steps, Basu et al. 2019,
 * "Qsparse-local-SGD").
 *
 * <p>Every worker starts a round from the same parameters, the base. After its local steps it adds what it left
 * unsent in earlier rounds (the residual) to its change from the base, sends the {@code k} entries of that sum with
 * the largest magnitude as index/value pairs, and keeps the rest as its new residual. Every worker then adds the mean
 * of all workers' sent entries to the base, message by message in partition order, so all hold the same parameters
 * to the bit. Adam's state is not exchanged: each worker's stays its own.
 *
 * <p>A worker's residual, Adam state and parameters outlive its pass: they are kept in the executor's JVM for the
 * next pass, and only partition 0's parameters go back to the driver at the end of a pass. While the driver's network
 * still holds them at the next pass, the workers start from what they kept and never fetch the pass's broadcast, so
 * a pass costs the exchange and one copy of the parameters. The jobs deal every pass anew, and Spark may run a
 * partition on another executor than last time: a task takes its own partition's state where this executor holds
 * it, else another partition's that no other task took (all workers end a pass with the same parameters, and a
 * residual is update mass not yet sent, whoever sends it). A pass reads what the previous pass's successful stage
 * attempt left and never changes it, so a retried pass starts from the same. A task that finds none (an executor
 * ran more tasks than it kept states, or a new executor) starts from the broadcast's parameters and Adam state and
 * no residual, and logs it: what that worker had not sent is lost, nothing else. The driver's network thus holds the
 * workers' parameters after every pass but keeps the Adam state it started with.
 */
final class SparseDelta {
    private static final Logger LOG = LoggerFactory.getLogger(SparseDelta.class);
    /** Bytes of a message's header: steps (int), score (double), parameters (int), entries (int). */
    static final int HEADER = 4 + 8 + 4 + 4;
    /** Per engine: what the workers of its last two passes left in this JVM. */
    private static final Map<String, Kept> KEPT = new ConcurrentHashMap<>();

    final float[] base;
    final float[] residual;
    private final int k;
    private final float[] change;
    private final int[] histogram = new int[1 << 16];
    private final int[] indices;
    private final float[] values;

    /**
     * @param base     the round's starting parameters, taken over (the same on every worker)
     * @param residual what this worker has not sent yet, taken over
     * @param k        entries each message carries
     */
    SparseDelta(float[] base, float[] residual, int k) {
        if (residual.length != base.length) {
            throw new IllegalArgumentException("a residual of " + residual.length + " values for " + base.length
                    + " parameters");
        }
        this.base = base;
        this.residual = residual;
        this.k = Math.max(1, Math.min(k, base.length));
        this.change = new float[base.length];
        this.indices = new int[this.k];
        this.values = new float[this.k];
    }

    /** Entries per message for {@code density} of {@code parameters}: at least one. */
    static int entries(double density, long parameters) {
        return (int) Math.max(1, Math.min(parameters, Math.round(density * parameters)));
    }

    /**
     * This worker's message after a round of {@code steps} steps ending at {@code params}: the header, then the sent
     * entries' values as bfloat16 (2 bytes each) and their indices as the gaps between them in unsigned LEB128 (one
     * byte for a gap under 128), little-endian, 7 bits per character ({@link #pack7}). The residual becomes what was
     * not sent, including what rounding the sent values to bfloat16 left off.
     */
    String encode(INDArray params, int steps, double score) {
        float[] d = NativeFloats.dense(params) ? NativeFloats.read(params, change) : copy(params);
        for (int i = 0; i < d.length; i++) {
            d[i] = d[i] - base[i] + residual[i];
        }
        int taken = select(d);
        System.arraycopy(d, 0, residual, 0, d.length);
        byte[] bytes = new byte[HEADER + 2 * taken + 5 * taken];
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(steps).putDouble(score).putInt(base.length).putInt(taken);
        for (int j = 0; j < taken; j++) {
            short rounded = bfloat16(values[j]);
            buffer.putShort(rounded);
            residual[indices[j]] -= widen(rounded);
        }
        int previous = -1;
        for (int j = 0; j < taken; j++) {
            int gap = indices[j] - previous - 1;
            previous = indices[j];
            while ((gap & ~0x7f) != 0) {
                buffer.put((byte) (gap & 0x7f | 0x80));
                gap >>>= 7;
            }
            buffer.put((byte) gap);
        }
        return pack7(bytes, buffer.position());
    }

    /**
     * The first {@code length} bytes of {@code bytes} as characters of 7 bits each (8 characters for 7 bytes, the
     * last padded with zero bits). {@code allGather}'s strings reach the driver's barrier coordinator through Java
     * serialization, whose modified UTF-8 writes characters 1–127 as one byte each and any other as two or three: at
     * 7 bits a character a message crosses a cluster's RPC at about 8/7 of its bytes (a character 0, one in 128 on
     * average, takes two), where one byte a character would cost about 1.5.
     */
    static String pack7(byte[] bytes, int length) {
        char[] out = new char[(int) ((8L * length + 6) / 7)];
        int acc = 0;
        int bits = 0;
        int o = 0;
        for (int i = 0; i < length; i++) {
            acc = acc << 8 | (bytes[i] & 0xff);
            bits += 8;
            while (bits >= 7) {
                bits -= 7;
                out[o++] = (char) (acc >>> bits & 0x7f);
            }
        }
        if (bits > 0) {
            out[o++] = (char) (acc << (7 - bits) & 0x7f);
        }
        return new String(out, 0, o);
    }

    /** The bytes {@link #pack7} packed into {@code packed}. */
    static byte[] unpack7(String packed) {
        byte[] out = new byte[(int) (7L * packed.length() / 8)];
        int acc = 0;
        int bits = 0;
        int o = 0;
        for (int i = 0; i < packed.length(); i++) {
            char c = packed.charAt(i);
            if (c > 0x7f) {
                throw new IllegalStateException("a sparse local-sgd message holds character " + (int) c
                        + " at " + i + "; its characters carry 7 bits each");
            }
            acc = acc << 7 | c;
            bits += 7;
            if (bits >= 8) {
                bits -= 8;
                if (o < out.length) {
                    out[o++] = (byte) (acc >>> bits);
                }
            }
        }
        return out;
    }

    /** {@code v} rounded to the nearest bfloat16 (ties to even): a float32's upper 16 bits. */
    static short bfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (short) ((bits + 0x7fff + (bits >>> 16 & 1)) >>> 16);
    }

    static float widen(short bfloat16) {
        return Float.intBitsToFloat(bfloat16 << 16);
    }

    private float[] copy(INDArray params) {
        float[] all = params.toFloatVector();
        System.arraycopy(all, 0, change, 0, change.length);
        return change;
    }

    /**
     * Puts the {@code k} entries of {@code d} with the largest magnitude into {@code indices} / {@code values} in
     * index order; among equal magnitudes the lower indices. A radix select on the magnitudes' bits (for
     * non-negative floats their order as ints): a histogram of the upper 16 bits finds the bucket that holds the
     * k-th largest, a second of the lower 16 bits within it the exact threshold. Returns how many were taken.
     */
    int select(float[] d) {
        int n = d.length;
        if (k >= n) {
            for (int i = 0; i < n; i++) {
                indices[i] = i;
                values[i] = d[i];
            }
            return n;
        }
        Arrays.fill(histogram, 0);
        for (float v : d) {
            histogram[(Float.floatToRawIntBits(v) & 0x7fffffff) >>> 16]++;
        }
        int above = 0;
        int high = histogram.length - 1;
        while (above + histogram[high] < k) {
            above += histogram[high--];
        }
        Arrays.fill(histogram, 0);
        for (float v : d) {
            int bits = Float.floatToRawIntBits(v) & 0x7fffffff;
            if (bits >>> 16 == high) {
                histogram[bits & 0xffff]++;
            }
        }
        int low = histogram.length - 1;
        while (above + histogram[low] < k) {
            above += histogram[low--];
        }
        int threshold = high << 16 | low;
        int ties = k - above;
        int taken = 0;
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(d[i]) & 0x7fffffff;
            if (bits > threshold || (bits == threshold && ties-- > 0)) {
                indices[taken] = i;
                values[taken++] = d[i];
            }
        }
        return taken;
    }

    /** What the workers' messages of one round said besides their entries. */
    static final class Round {
        int workers;
        int maxSteps;
        double scoreSum;
    }

    /**
     * Adds the mean of the workers' messages (empty ones are workers that had nothing left to fit) to the base and
     * writes it into {@code network}'s parameters.
     */
    Round apply(String[] messages, ComputationGraph network) {
        Round round = new Round();
        for (String m : messages) {
            round.workers += m.isEmpty() ? 0 : 1;
        }
        if (round.workers == 0) {
            return round;
        }
        float scale = 1f / round.workers;
        for (String m : messages) {
            if (m.isEmpty()) {
                continue;
            }
            ByteBuffer bytes = ByteBuffer.wrap(unpack7(m)).order(ByteOrder.LITTLE_ENDIAN);
            int steps = bytes.getInt();
            double score = bytes.getDouble();
            int n = bytes.getInt();
            int taken = bytes.getInt();
            if (n != base.length || taken < 0 || bytes.remaining() < 3L * taken) {
                throw new IllegalStateException("a sparse local-sgd message for " + n + " parameters holds " + taken
                        + " entries in " + bytes.remaining() + " bytes; this worker's network has " + base.length
                        + " parameters: all workers must train the same network");
            }
            int valuesAt = HEADER;
            bytes.position(HEADER + 2 * taken);
            int index = -1;
            for (int j = 0; j < taken; j++) {
                int gap = 0;
                for (int shift = 0; ; shift += 7) {
                    byte b = bytes.get();
                    gap |= (b & 0x7f) << shift;
                    if (b >= 0) {
                        break;
                    }
                }
                index += gap + 1;
                if (index < 0 || index >= n) {
                    throw new IllegalStateException("a sparse local-sgd message names parameter " + index + " of "
                            + n);
                }
                base[index] += widen(bytes.getShort(valuesAt + 2 * j)) * scale;
            }
            if (bytes.hasRemaining()) {
                throw new IllegalStateException("a sparse local-sgd message has " + bytes.remaining()
                        + " bytes after its " + taken + " entries");
            }
            round.maxSteps = Math.max(round.maxSteps, steps);
            round.scoreSum += score;
        }
        Mean.write(base, network.params());
        return round;
    }

    /** What a partition's pass left for its next pass: the residual, the worker's Adam state, the parameters. */
    record Left(float[] residual, float[] updater, float[] params) {
        Left copy() {
            return new Left(residual.clone(), updater.clone(), params.clone());
        }
    }

    /**
     * A pass's sparse exchange, as the driver plans it.
     *
     * @param density      the share of the parameters each message carries
     * @param pass         the engine's pass number, which keys what the passes leave
     * @param leftAttempt  the stage attempt of the previous pass that succeeded: only what its tasks left is used
     * @param continuing   the driver's network holds the parameters the last pass ended with: a worker that kept
     *                     them starts from them without reading the pass's broadcast
     * @param iteration    the network's step count at the start of the pass
     * @param epoch        and its epoch count
     */
    record Plan(double density, int pass, int leftAttempt, boolean continuing, int iteration, int epoch)
            implements Serializable {
    }

    /**
     * Sets up {@code network} for a task of {@code partition} in attempt {@code attempt} of pass {@code plan.pass()}
     * and returns its exchange. What a worker of the previous pass left in this JVM is used when there is one this
     * attempt has not taken yet: its residual and Adam state always, its parameters when the pass is {@link
     * Plan#continuing()} (then the pass's broadcast is never fetched). Otherwise the broadcast's parameters and Adam
     * state, and no residual.
     */
    static SparseDelta start(String engine, int partition, int attempt, Plan plan, ComputationGraph network,
                             Supplier<LocalSgdRound.State> broadcast) {
        int n = Math.toIntExact(network.numParams());
        Left left = plan.pass() > 0 ? take(engine, plan.pass() - 1, plan.leftAttempt(), plan.pass(), attempt,
                partition, n) : null;
        float[] params;
        if (plan.continuing() && left != null) {
            params = left.params();
            Mean.write(params, network.params());
        } else {
            LocalSgdRound.State shipped = broadcast.get();
            shipped.applyTo(network);
            params = shipped.params.clone();
        }
        INDArray view = network.getUpdater().getStateViewArray();
        if (left != null && view != null && left.updater().length == view.length()) {
            Mean.write(left.updater(), view);
        }
        network.getConfiguration().setIterationCount(plan.iteration());
        network.getConfiguration().setEpochCount(plan.epoch());
        return new SparseDelta(params, left != null ? left.residual() : new float[n], entries(plan.density(), n));
    }

    /**
     * For a task of {@code partition} in attempt {@code attempt} of pass {@code pass}: a copy of what a worker of
     * pass {@code leftPass}, attempt {@code leftAttempt}, left in this JVM, its own partition's where that is here,
     * else another partition's that no other task of the same attempt took. All workers end a pass with the same
     * parameters, and a residual is update mass not yet sent, whichever worker sends it: Spark may place a dealt
     * partition on another executor than last pass, and its task continues from the state that executor holds.
     * Null, with a warning, when none is left here for it (what that worker had not sent is then lost).
     */
    static Left take(String engine, int leftPass, int leftAttempt, int pass, int attempt, int partition,
                     int parameters) {
        Kept kept = KEPT.get(engine);
        Left left = kept == null ? null : kept.take(leftPass, leftAttempt, pass, attempt, partition, parameters);
        if (left == null) {
            LOG.warn("sparse local-sgd: no state that pass {} left is in this executor for partition {} (its "
                    + "workers ran elsewhere); the worker starts from the pass's broadcast parameters and Adam "
                    + "state, and what a worker had not sent is lost", leftPass, partition);
        }
        return left;
    }

    /** Keeps what {@code partition}'s task of pass {@code pass}, attempt {@code attempt}, left, for the next pass. */
    static void keep(String engine, int pass, int attempt, int partition, Left left) {
        KEPT.keySet().removeIf(other -> !other.equals(engine));
        KEPT.computeIfAbsent(engine, e -> new Kept()).put(pass, attempt, partition, left);
    }

    /**
     * The Adam state that the lowest-numbered partition of pass {@code pass}, attempt {@code attempt}, left in this JVM,
     * with that partition's number; null when none is here. Nothing is taken: the next pass finds it as before.
     */
    static Map.Entry<Integer, float[]> peekUpdater(String engine, int pass, int attempt) {
        Kept kept = KEPT.get(engine);
        return kept == null ? null : kept.peekUpdater(pass, attempt);
    }

    /** Drops what was kept for {@code engine} in this JVM. */
    static void forget(String engine) {
        KEPT.remove(engine);
    }

    /** What the workers of an engine's last two passes left in this JVM, and which of it each attempt took. */
    private static final class Kept {
        private record Key(int pass, int attempt) {
        }

        private final Map<Key, TreeMap<Integer, Left>> left = new HashMap<>();
        private final Map<Key, Set<Integer>> taken = new HashMap<>();

        synchronized void put(int pass, int attempt, int partition, Left l) {
            left.computeIfAbsent(new Key(pass, attempt), k -> new TreeMap<>()).put(partition, l);
            left.keySet().removeIf(k -> k.pass() < pass - 1);
            taken.keySet().removeIf(k -> k.pass() < pass - 1);
        }

        synchronized Map.Entry<Integer, float[]> peekUpdater(int pass, int attempt) {
            TreeMap<Integer, Left> lefts = left.get(new Key(pass, attempt));
            if (lefts == null || lefts.isEmpty()) {
                return null;
            }
            Map.Entry<Integer, Left> first = lefts.firstEntry();
            return Map.entry(first.getKey(), first.getValue().updater().clone());
        }

        synchronized Left take(int leftPass, int leftAttempt, int pass, int attempt, int partition, int parameters) {
            Map<Integer, Left> lefts = left.get(new Key(leftPass, leftAttempt));
            if (lefts == null) {
                return null;
            }
            Set<Integer> gone = taken.computeIfAbsent(new Key(pass, attempt), k -> new HashSet<>());
            Integer pick = lefts.containsKey(partition) && !gone.contains(partition) ? Integer.valueOf(partition)
                    : lefts.keySet().stream().filter(p -> !gone.contains(p)).findFirst().orElse(null);
            if (pick == null || lefts.get(pick).residual().length != parameters) {
                return null;
            }
            gone.add(pick);
            return lefts.get(pick).copy();
        }
    }

    /** What this worker leaves for its partition's next pass, with {@code network}'s Adam state. */
    Left left(ComputationGraph network) {
        INDArray view = network.getUpdater().getStateViewArray();
        return new Left(residual, view == null ? new float[0] : NativeFloats.floats(view), base);
    }
}

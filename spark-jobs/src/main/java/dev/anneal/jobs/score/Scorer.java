package dev.anneal.jobs.score;

import dev.anneal.jobs.engine.BroadcastModel;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Scores rows on the executors: each partition rebuilds the broadcast network once, checks every row, and runs the
 * rows that pass through the network in minibatches. A row that fails a check comes out with its reason and no
 * output, so nothing is dropped.
 */
public final class Scorer {
    private Scorer() {
    }

    /** A row with the head's output, or with the reason it could not be scored. */
    public record Scored(Row row, float[] output, String reason) implements Serializable {
        public boolean ok() {
            return reason == null;
        }
    }

    /**
     * @param corrupt the position of {@link ScoringInput#CORRUPT} in the rows (the text of a line that was not
     *                JSON), or -1
     * @param check   a further check (a label, say) run after the input kind's; returns a reason or {@code null}
     */
    public static JavaRDD<Scored> score(JavaRDD<Row> rows, BroadcastModel model, InputKind kind, int batchSize,
                                        int corrupt, Function<Row, String> check) {
        return rows.mapPartitions(it -> new Batches(it, model, kind, batchSize, corrupt, check));
    }

    /** No further check. */
    public static String none(Row row) {
        return null;
    }

    private static final class Batches implements Iterator<Scored> {
        private final Iterator<Row> source;
        private final BroadcastModel model;
        private final InputKind kind;
        private final int batchSize;
        private final int corrupt;
        private final Function<Row, String> check;
        private final ArrayDeque<Scored> ready = new ArrayDeque<>();
        private ComputationGraph net;

        Batches(Iterator<Row> source, BroadcastModel model, InputKind kind, int batchSize, int corrupt,
                Function<Row, String> check) {
            this.corrupt = corrupt;
            this.source = source;
            this.model = model;
            this.kind = kind;
            this.batchSize = batchSize;
            this.check = check;
        }

        @Override
        public boolean hasNext() {
            if (ready.isEmpty() && source.hasNext()) {
                fill();
            }
            return !ready.isEmpty();
        }

        @Override
        public Scored next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void fill() {
            List<Row> rows = new ArrayList<>(batchSize);
            List<String> reasons = new ArrayList<>(batchSize);
            List<Row> good = new ArrayList<>(batchSize);
            while (rows.size() < batchSize && source.hasNext()) {
                Row r = source.next();
                String reason = reason(r);
                rows.add(r);
                reasons.add(reason);
                if (reason == null) {
                    good.add(r);
                }
            }
            INDArray out = null;
            if (!good.isEmpty()) {
                if (net == null) {
                    net = model.load();
                }
                InputKind.Features f = kind.features(good);
                out = net.output(false, f.inputs(), f.masks())[0];
            }
            int g = 0;
            for (int i = 0; i < rows.size(); i++) {
                ready.add(reasons.get(i) == null
                        ? new Scored(rows.get(i), out.getRow(g++).toFloatVector(), null)
                        : new Scored(rows.get(i), null, reasons.get(i)));
            }
        }

        private String reason(Row r) {
            if (corrupt >= 0 && r.get(corrupt) != null) {
                return ScoringInput.NOT_JSON;
            }
            String problem = kind.problem(r);
            if (problem != null) {
                return problem;
            }
            try {
                return check.call(r);
            } catch (Exception e) {
                return e.getMessage();
            }
        }
    }
}

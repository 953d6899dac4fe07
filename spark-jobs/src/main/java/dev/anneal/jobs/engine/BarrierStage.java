package dev.anneal.jobs.engine;

import org.apache.spark.Dependency;
import org.apache.spark.NarrowDependency;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.nd4j.linalg.dataset.DataSet;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Runs a {@link LocalSgdPass} over a pass's partitions as one barrier-mode stage (Spark's Java API has none). */
final class BarrierStage {
    private BarrierStage() {
    }

    interface PartitionFunction extends scala.Function2<Object, scala.collection.Iterator<DataSet>,
            scala.collection.Iterator<LocalSgdPass.Result>>, Serializable {
    }

    /**
     * Whether {@code rdd} can end a barrier stage of {@code tasks} tasks: Spark refuses one in which an RDD reached
     * through narrow dependencies has another partition count (SPARK-24820), as a pass pruned from an epoch's
     * shuffle of several passes has.
     */
    static boolean fitsOneStage(RDD<?> rdd, int tasks) {
        Deque<RDD<?>> todo = new ArrayDeque<>(List.of(rdd));
        Set<Integer> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            RDD<?> r = todo.pop();
            if (!seen.add(r.id())) {
                continue;
            }
            if (r.getNumPartitions() != tasks) {
                return false;
            }
            for (Dependency<?> d : JavaConverters.seqAsJavaList(r.dependencies())) {
                if (d instanceof NarrowDependency) {
                    todo.push(d.rdd());
                }
            }
        }
        return true;
    }

    static List<LocalSgdPass.Result> run(JavaRDD<DataSet> pass, LocalSgdPass task) {
        ClassTag<LocalSgdPass.Result> tag = ClassTag$.MODULE$.apply(LocalSgdPass.Result.class);
        PartitionFunction f = (index, it) -> JavaConverters.asScalaIterator(
                task.run((Integer) index, JavaConverters.asJavaIterator(it)));
        RDD<LocalSgdPass.Result> out = pass.rdd().barrier().mapPartitionsWithIndex(f, true, tag);
        return JavaRDD.fromRDD(out, tag).collect();
    }
}

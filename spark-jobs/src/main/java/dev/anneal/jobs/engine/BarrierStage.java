package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.nd4j.linalg.dataset.DataSet;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

import java.io.Serializable;
import java.util.List;

/** Runs a {@link LocalSgdPass} over a pass's partitions as one barrier-mode stage (Spark's Java API has none). */
final class BarrierStage {
    private BarrierStage() {
    }

    interface PartitionFunction extends scala.Function2<Object, scala.collection.Iterator<DataSet>,
            scala.collection.Iterator<LocalSgdPass.Result>>, Serializable {
    }

    static List<LocalSgdPass.Result> run(JavaRDD<DataSet> pass, LocalSgdPass task) {
        ClassTag<LocalSgdPass.Result> tag = ClassTag$.MODULE$.apply(LocalSgdPass.Result.class);
        PartitionFunction f = (index, it) -> JavaConverters.asScalaIterator(
                task.run((Integer) index, JavaConverters.asJavaIterator(it)));
        RDD<LocalSgdPass.Result> out = pass.rdd().barrier().mapPartitionsWithIndex(f, true, tag);
        return JavaRDD.fromRDD(out, tag).collect();
    }
}

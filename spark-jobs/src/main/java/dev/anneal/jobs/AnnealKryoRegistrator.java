package dev.anneal.jobs;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import dev.anneal.core.task.BinaryMetrics;
import dev.anneal.jobs.data.LabeledText;
import dev.anneal.jobs.ingest.IngestJob;
import org.nd4j.kryo.Nd4jRegistrator;

/**
 * ND4J's Kryo registrations plus Anneal's records: Spark's Kryo 4 cannot set a record's final fields, so records that
 * travel in RDDs use Java serialization, which calls their canonical constructors.
 */
public class AnnealKryoRegistrator extends Nd4jRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        super.registerClasses(kryo);
        // The first Kryo of an executor JVM starts here, before its first task: the one executor-side place every
        // job passes through, so each executor says which OpenBLAS kernels its environment gives it.
        BlasKernels.sayOnce();
        kryo.register(LabeledText.class, new JavaSerializer());
        kryo.register(BinaryMetrics.class, new JavaSerializer());
        kryo.register(dev.anneal.jobs.score.Scorer.Scored.class, new JavaSerializer());
        IngestJob.registerKryo(kryo);
    }
}

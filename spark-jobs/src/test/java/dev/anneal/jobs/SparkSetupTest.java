package dev.anneal.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import scala.reflect.ClassTag$;

class SparkSetupTest {
    @RegisterExtension
    static final LocalSpark SPARK = new LocalSpark();

    @Test
    void kryoCopiesArraysInBulkAndModelBroadcastsAreNotCompressed() {
        SparkConf conf = SPARK.context().getConf();
        assertEquals("true", conf.get(SparkSetup.KRYO_UNSAFE));
        assertEquals("false", conf.get(SparkSetup.BROADCAST_COMPRESS));
        assertTrue(SparkEnv.get().serializer() instanceof KryoSerializer);
    }

    @Test
    void theUnsafeStreamsRoundTripFloatArraysAndNd4jArrays() {
        SerializerInstance kryo = SparkEnv.get().serializer().newInstance();
        float[] values = new float[100_003];
        Random random = new Random(7);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        values[5] = Float.NaN;
        values[6] = -0f;
        values[7] = Float.MIN_VALUE;
        float[] back = kryo.deserialize(kryo.serialize(values, ClassTag$.MODULE$.apply(float[].class)),
                ClassTag$.MODULE$.apply(float[].class));
        assertArrayEquals(values, back);

        INDArray array = Nd4j.rand(DataType.FLOAT, 17, 31);
        INDArray copy = kryo.deserialize(kryo.serialize(array, ClassTag$.MODULE$.apply(INDArray.class)),
                ClassTag$.MODULE$.apply(INDArray.class));
        assertEquals(array, copy);
    }
}

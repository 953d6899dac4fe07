package dev.anneal.jobs.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.anneal.jobs.AnnealKryoRegistrator;
import java.nio.ByteBuffer;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.expressions.GenericRowWithSchema;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/**
 * A scored row survives Spark's Kryo serializer as the jobs configure it, which is how a persisted scoring result
 * spills to disk and moves between executors (Kryo 4 alone cannot rebuild a record).
 */
class ScoredSerializationTest {
    @Test
    void scoredRowsRoundTripThroughTheJobsKryo() {
        SparkConf conf = new SparkConf().set("spark.kryo.registrator", AnnealKryoRegistrator.class.getName());
        SerializerInstance kryo = new KryoSerializer(conf).newInstance();
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType);
        Row row = new GenericRowWithSchema(new Object[] {"a", "some text"}, schema);
        for (Scorer.Scored s : new Scorer.Scored[] {new Scorer.Scored(row, new float[] {0.25f, 0.75f}, null),
                new Scorer.Scored(row, null, "text is empty")}) {
            ByteBuffer bytes = kryo.serialize(s, ClassTag$.MODULE$.apply(Scorer.Scored.class));
            Scorer.Scored back = kryo.deserialize(bytes, ClassTag$.MODULE$.apply(Scorer.Scored.class));
            assertEquals(s.row(), back.row());
            assertEquals(schema, back.row().schema());
            assertArrayEquals(s.output(), back.output());
            assertEquals(s.reason(), back.reason());
        }
        assertNull(new Scorer.Scored(row, null, null).reason());
    }
}

package dev.anneal.core.net;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bulk copies between float32 vectors in ND4J's native memory and Java arrays. ND4J's {@code toFloatVector} and
 * {@code createFromArray} copy element by element through an index check; a dense vector on the CPU backend is
 * copied here in one native call (its data buffer then holds exactly its elements, in order).
 */
public final class NativeFloats {
    private NativeFloats() {
    }

    /** Whether {@code a} is a float32 vector on the CPU backend whose data buffer holds exactly its elements. */
    public static boolean dense(INDArray a) {
        return Nd4j.getEnvironment().isCPU() && a.dataType() == DataType.FLOAT && a.isVectorOrScalar()
                && a.elementWiseStride() == 1 && a.data().length() == a.length() && a.length() <= Integer.MAX_VALUE;
    }

    /**
     * Whether {@code a} is a float32 array on the CPU backend, of any shape, whose data buffer holds exactly its
     * elements (not a view into a larger array), in the order {@code a.ordering()} says.
     */
    public static boolean whole(INDArray a) {
        return Nd4j.getEnvironment().isCPU() && a.dataType() == DataType.FLOAT && !a.isView()
                && a.data().length() == a.length() && a.length() <= Integer.MAX_VALUE;
    }

    /**
     * {@code a}'s elements as a buffer over its native memory, in C order, for bulk copies to and from Java arrays
     * without a native call each. {@code a} must be float32 on the CPU backend and C-contiguous: a whole array in C
     * order, or a view of consecutive elements.
     */
    public static FloatBuffer view(INDArray a) {
        if (!Nd4j.getEnvironment().isCPU() || a.dataType() != DataType.FLOAT || !contiguous(a)) {
            throw new IllegalArgumentException("not a C-contiguous float32 array on the CPU backend: "
                    + a.shapeInfoToString());
        }
        return new FloatPointer(a.data().addressPointer()).capacity(a.length()).asBuffer();
    }

    private static boolean contiguous(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return a.length() <= Integer.MAX_VALUE;
    }

    /** {@code vector}'s elements, in a new array. */
    public static float[] floats(INDArray vector) {
        return dense(vector) ? read(vector, null) : vector.toFloatVector();
    }

    /**
     * {@code vector}'s elements, copied into {@code into} when it has the right length (else into a new array),
     * which is returned; {@code vector} must be {@link #dense}.
     */
    public static float[] read(INDArray vector, float[] into) {
        requireDense(vector);
        return copyOut(vector, into);
    }

    /**
     * Elements {@code [from, from + into.length)} of {@code vector}, which must be {@link #dense}, copied into
     * {@code into}.
     */
    public static void readRange(INDArray vector, long from, float[] into) {
        readRange(vector, from, into, 0, into.length);
    }

    /** Elements {@code [from, from + length)} of {@code vector} into {@code into[at, at + length)}. */
    public static void readRange(INDArray vector, long from, float[] into, int at, int length) {
        requireDense(vector);
        checkRange(vector, from, length);
        new FloatPointer(vector.data().addressPointer()).position(from).get(into, at, length);
    }

    /** Copies {@code values} into elements {@code [from, from + values.length)} of {@code vector}. */
    public static void writeRange(float[] values, INDArray vector, long from) {
        writeRange(values, 0, values.length, vector, from);
    }

    /** Copies {@code values[at, at + length)} into elements {@code [from, from + length)} of {@code vector}. */
    public static void writeRange(float[] values, int at, int length, INDArray vector, long from) {
        requireDense(vector);
        checkRange(vector, from, length);
        new FloatPointer(vector.data().addressPointer()).position(from).put(values, at, length);
    }

    /** All of {@code array}'s elements in its buffer's order; {@code array} must be {@link #whole}. */
    public static float[] buffer(INDArray array, float[] into) {
        if (!whole(array)) {
            throw new IllegalArgumentException("not a whole float32 array on the CPU backend: "
                    + array.shapeInfoToString());
        }
        return copyOut(array, into);
    }

    /** All of {@code array}'s buffer, into {@code into} when it has the right length, else into a new array. */
    private static float[] copyOut(INDArray array, float[] into) {
        float[] out = into != null && into.length == array.length() ? into : new float[(int) array.length()];
        new FloatPointer(array.data().addressPointer()).get(out);
        return out;
    }

    private static void checkRange(INDArray vector, long from, int length) {
        if (from < 0 || from + length > vector.length()) {
            throw new IndexOutOfBoundsException("elements [" + from + ", " + (from + length) + ") of a vector of "
                    + vector.length());
        }
    }

    /** Copies {@code values} into {@code vector}, which must be {@link #dense} and of the same length. */
    public static void write(float[] values, INDArray vector) {
        requireDense(vector);
        if (vector.length() != values.length) {
            throw new IllegalArgumentException("a vector of " + vector.length() + " for " + values.length + " values");
        }
        new FloatPointer(vector.data().addressPointer()).put(values);
    }

    /** A new float32 array of {@code shape} holding {@code values}. */
    public static INDArray array(float[] values, long[] shape) {
        INDArray out = Nd4j.create(DataType.FLOAT, shape);
        if (out.length() != values.length) {
            throw new IllegalStateException("an array of shape " + Arrays.toString(shape) + " for " + values.length
                    + " values");
        }
        if (dense(out)) {
            write(values, out);
            return out;
        }
        return Nd4j.createFromArray(values).reshape(shape);
    }

    private static void requireDense(INDArray vector) {
        if (!dense(vector)) {
            throw new IllegalArgumentException("not a dense float32 vector on the CPU backend: "
                    + vector.shapeInfoToString());
        }
    }
}

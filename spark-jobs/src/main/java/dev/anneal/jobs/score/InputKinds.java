package dev.anneal.jobs.score;

import dev.anneal.core.InputException;
import dev.anneal.core.checkpoint.CheckpointException;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** The {@link InputKind} that feeds a fine-tuned checkpoint, chosen by its network kind. */
public final class InputKinds {
    public static final String TEXT_CLASSIFIER = "text-classifier";
    public static final String IMAGE_CLASSIFIER = "image-classifier";
    public static final List<String> KINDS = List.of(TEXT_CLASSIFIER, IMAGE_CLASSIFIER);

    private InputKinds() {
    }

    /** Whether evaluate and predict know how to feed a network of this kind. */
    public static void require(String checkpoint, String networkKind) {
        if (!KINDS.contains(networkKind)) {
            throw new CheckpointException(checkpoint + ": network kind '" + networkKind + "' has no input kind for "
                    + "evaluate and predict; they feed " + KINDS);
        }
    }

    /** The input kind for {@code model}, its field looked up in the table's columns. */
    public static InputKind of(FineTunedModel model, StructType schema, String input) {
        require(model.dir(), model.networkKind());
        int index = index(schema, model.inputField(), input);
        return switch (model.networkKind()) {
            case TEXT_CLASSIFIER -> new TextInput(model.inputField(), index, model.checkpoint().vocabulary(),
                    model.maxLength());
            case IMAGE_CLASSIFIER -> {
                Map<?, ?> image = model.image();
                if (image == null || ((Number) image.get("channels")).intValue() != 1) {
                    throw new CheckpointException(model.dir() + ": the manifest's network.image is " + image
                            + "; evaluate and predict read greyscale images (channels 1)");
                }
                yield new ImageInput(model.inputField(), index, ((Number) image.get("rows")).intValue(),
                        ((Number) image.get("cols")).intValue());
            }
            default -> throw new IllegalStateException(model.networkKind());
        };
    }

    /** The position of a column, or an error naming the input and its columns. */
    public static int index(StructType schema, String field, String input) {
        List<String> names = Arrays.asList(schema.fieldNames());
        int i = names.indexOf(field);
        if (i < 0) {
            throw new InputException(input + ": no field '" + field + "' in its records; fields: "
                    + names.stream().filter(n -> !n.startsWith("_")).toList());
        }
        return i;
    }
}

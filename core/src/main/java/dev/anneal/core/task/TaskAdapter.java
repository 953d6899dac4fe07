package dev.anneal.core.task;

import dev.anneal.core.checkpoint.Checkpoint;
import dev.anneal.core.checkpoint.CheckpointException;
import dev.anneal.core.config.FinetuneSettings;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.graph.rnn.LastTimeStepVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a pretrained network into the one a task trains: the encoder's layers are kept (optionally with a
 * {@link BottleneckAdapter} after each recurrent, convolution and dense layer), a text encoder's output is pooled
 * over time, and a task head replaces
 * the pretraining head. Every layer gets the fine-tune's updater (Adam under a {@link WarmupSchedule}, scaled per
 * layer group, optionally inside an {@link AccumulatingUpdater}), regularization and gradient clipping; the layers
 * that do not train are wrapped frozen. Fails before any training when the checkpoint does not fit the task, naming
 * what differs ({@link CheckpointFit}).
 *
 * <p>The graph is rebuilt from its layer configurations rather than edited, so that the same plan with another
 * frozen set (gradual unfreezing between epochs, {@link #refreeze}) gives the same network with the trained
 * parameters carried over.
 */
public final class TaskAdapter {
    public static final String POOL = "pool";
    public static final String HEAD = "head";
    public static final String ADAPTER_PREFIX = "adapter_";
    static final List<String> TEXT_ENCODERS = List.of("lstm-lm");
    /** A supervised CNN, or a convolutional autoencoder, whose encoder is the same CNN and whose decoder is dropped. */
    static final List<String> IMAGE_ENCODERS = List.of("cnn", "cnn-autoencoder");

    /** Whether the checkpoint's network reads images (a CNN or an autoencoder's) rather than token ids. */
    public static boolean readsImages(Checkpoint pretrained) {
        return IMAGE_ENCODERS.contains(pretrained.info().networkKind());
    }

    private TaskAdapter() {
    }

    /**
     * How to adapt: what {@link FinetuneSettings} says, plus what the job derives.
     *
     * @param pooling         mean, max or last (the last unmasked time step)
     * @param freeze          layers to keep as pretrained, with every layer that feeds them
     * @param settings        head, freezing, schedule, regularization
     * @param learningRate    the peak learning rate of the head (other groups scale it)
     * @param updatesPerEpoch optimizer updates one epoch makes on a worker (for the schedule's length)
     * @param epochs          epochs of the run
     * @param seed            seeds the initialisation of the head and adapters
     */
    public record Plan(String pooling, List<String> freeze, FinetuneSettings settings, double learningRate,
                      int updatesPerEpoch, int epochs, long seed) {
        public Plan {
            freeze = List.copyOf(freeze);
            if (updatesPerEpoch < 1 || epochs < 1) {
                throw new IllegalArgumentException("updatesPerEpoch and epochs must be >= 1");
            }
        }

        /** The learning rate at each update, before per-group factors. */
        public WarmupSchedule schedule() {
            int total = updatesPerEpoch * epochs;
            return new WarmupSchedule(learningRate, (int) Math.round(settings.warmup() * total), total,
                    settings.decay(), settings.stepEpochs() * updatesPerEpoch, settings.stepFactor());
        }
    }

    /** A binary classifier with a constant learning rate and nothing else: the plain fine-tune. */
    public static ComputationGraph binaryClassifier(Checkpoint pretrained, String pooling, List<String> freeze,
                                                    double learningRate, long seed) {
        return adapt(pretrained, new Plan(pooling, freeze, FinetuneSettings.binaryDefaults(), learningRate, 1, 1,
                seed));
    }

    /**
     * The checkpoint's network with every parameter initialised afresh from {@code seed}: the same architecture
     * trained from scratch, the baseline a pretrained start is measured against.
     */
    public static Checkpoint reinitialized(Checkpoint pretrained, long seed) {
        ComputationGraphConfiguration conf = pretrained.graph().getConfiguration().clone();
        conf.getDefaultConfiguration().setSeed(seed);
        ComputationGraph fresh = new ComputationGraph(conf);
        fresh.init();
        return new Checkpoint(fresh, pretrained.vocabulary(), pretrained.info());
    }

    /** The network to train in the first epoch. */
    public static ComputationGraph adapt(Checkpoint pretrained, Plan plan) {
        CheckpointFit.require("the checkpoint", pretrained, null, plan.freeze(), 0);
        return build(pretrained, plan, frozenAt(pretrained, plan, 1), null);
    }

    /**
     * The same network with another frozen set, every parameter (encoder, adapters, head) taken from
     * {@code trained}; the updater state starts afresh.
     */
    public static ComputationGraph refreeze(Checkpoint pretrained, Plan plan, Set<String> frozen,
                                            ComputationGraph trained) {
        return build(pretrained, plan, frozen, trained);
    }

    /**
     * The encoder layers kept as pretrained in {@code epoch} (1-based): those {@code task.freeze} names with
     * everything that feeds them, the first {@code task.freezeFirst}, all of them under adapters; then, with gradual
     * unfreezing, the topmost of them thawed one every {@code task.unfreezeEvery} epochs (Howard and Ruder 2018).
     */
    public static Set<String> frozenAt(Checkpoint pretrained, Plan plan, int epoch) {
        List<String> encoder = encoderLayers(pretrained);
        FinetuneSettings s = plan.settings();
        int deepest = -1;
        for (String f : plan.freeze()) {
            deepest = Math.max(deepest, encoder.indexOf(f));
        }
        deepest = Math.max(deepest, Math.min(s.freezeFirst(), encoder.size()) - 1);
        if (s.adapterSize() > 0) {
            deepest = encoder.size() - 1;
        }
        if (s.unfreezeEvery() > 0) {
            deepest -= (epoch - 1) / s.unfreezeEvery();
        }
        return new LinkedHashSet<>(encoder.subList(0, Math.max(0, deepest + 1)));
    }

    /** The encoder's layers from the input to {@code network.encoderOutput}, in order. */
    public static List<String> encoderLayers(Checkpoint pretrained) {
        ComputationGraph graph = pretrained.graph();
        String encoderOutput = pretrained.info().network().get("encoderOutput").toString();
        Map<String, List<String>> inputs = graph.getConfiguration().getVertexInputs();
        List<String> chain = new ArrayList<>();
        for (String name = encoderOutput; graph.getLayer(name) != null; ) {
            chain.add(0, name);
            List<String> from = inputs.get(name);
            if (from.size() != 1) {
                throw new CheckpointException("encoder layer '" + name + "' has inputs " + from
                        + "; fine-tuning needs a chain of single-input layers from the input to '"
                        + encoderOutput + "'");
            }
            name = from.get(0);
        }
        return List.copyOf(chain);
    }

    /** The encoder layers that {@code task.adapterSize} puts a {@link BottleneckAdapter} after, in order. */
    public static List<String> adaptedLayers(Checkpoint pretrained) {
        return encoderLayers(pretrained).stream()
                .filter(n -> BottleneckAdapter.fits(pretrained.graph().getLayer(n).conf().getLayer())).toList();
    }

    /**
     * Parameters that the updater changes: those of every layer that is neither frozen nor held at a learning rate
     * of 0 ({@code task.learningRates} factor 0).
     */
    public static long trainableParameters(ComputationGraph graph) {
        long n = 0;
        for (Layer l : graph.getLayers()) {
            if (!(l instanceof org.deeplearning4j.nn.layers.FrozenLayer)
                    && !(l instanceof org.deeplearning4j.nn.layers.FrozenLayerWithBackprop) && !heldStill(l)) {
                n += l.numParams();
            }
        }
        return n;
    }

    // A factor of 0 builds plain SGD at rate 0 (see updater), possibly inside gradient accumulation.
    private static boolean heldStill(Layer l) {
        if (!(l.conf().getLayer() instanceof BaseLayer b)) {
            return false;
        }
        IUpdater u = b.getIUpdater();
        if (u instanceof AccumulatingUpdater a) {
            u = a.inner();
        }
        return u instanceof Sgd sgd && sgd.getLearningRateSchedule() == null && sgd.getLearningRate() == 0;
    }

    private static ComputationGraph build(Checkpoint pretrained, Plan plan, Set<String> frozen,
                                          ComputationGraph paramsFrom) {
        ComputationGraph source = pretrained.graph();
        FinetuneSettings s = plan.settings();
        List<String> encoder = encoderLayers(pretrained);
        String input = source.getConfiguration().getNetworkInputs().get(0);
        WarmupSchedule schedule = plan.schedule();
        Map<String, Double> factors = s.learningRateFactors();

        ComputationGraphConfiguration.GraphBuilder graph = new NeuralNetConfiguration.Builder()
                .seed(plan.seed())
                .dataType(source.getConfiguration().getDataType())
                .weightInit(WeightInit.XAVIER)
                .updater(new NoOp())
                .graphBuilder()
                .addInputs(input)
                .setInputTypes(inputType(pretrained, encoder));
        String previous = input;
        boolean trainableBelow = false;
        long width = 0;
        for (String name : encoder) {
            org.deeplearning4j.nn.conf.layers.Layer conf = source.getLayer(name).conf().getLayer().clone();
            if (conf instanceof FeedForwardLayer ff) {
                width = ff.getNOut();
            }
            if (frozen.contains(name)) {
                // A frozen layer with something trainable below must still pass the gradient down.
                graph.addLayer(name, trainableBelow ? new FrozenLayerWithBackprop(conf) : new FrozenLayer(conf),
                        previous);
            } else {
                configure(conf, updater(schedule, factor(factors, name, "encoder"), s), s);
                graph.addLayer(name, conf, previous);
                trainableBelow = true;
            }
            previous = name;
            if (s.adapterSize() > 0 && BottleneckAdapter.fits(conf)) {
                String adapter = ADAPTER_PREFIX + name;
                for (org.deeplearning4j.nn.conf.layers.Layer a
                        : BottleneckAdapter.add(graph, adapter, previous, conf, width, s.adapterSize())) {
                    configure(a, updater(schedule, factor(factors, adapter, "adapters"), s), s);
                }
                previous = adapter;
                trainableBelow = true;
            }
        }
        String headInput = POOL;
        if (!overTime(pretrained, encoder)) {
            // A CNN's encoder ends in a dense layer: one vector per image, nothing to pool.
            headInput = previous;
        } else if ("last".equals(plan.pooling())) {
            graph.addVertex(POOL, new LastTimeStepVertex(input), previous);
        } else {
            PoolingType type = switch (plan.pooling()) {
                case "mean" -> PoolingType.AVG;
                case "max" -> PoolingType.MAX;
                default -> throw new IllegalArgumentException("pooling must be mean, max or last, got "
                        + plan.pooling());
            };
            graph.addLayer(POOL, new GlobalPoolingLayer.Builder(type).build(), previous);
        }
        BaseLayer head = head(s, width);
        configure(head, updater(schedule, factor(factors, HEAD, HEAD), s), s);
        if (s.dropout() > 0) {
            // DL4J's Dropout takes the probability of keeping a value.
            head.setIDropout(new Dropout(1 - s.dropout()));
        }
        graph.addLayer(HEAD, head, headInput);
        graph.setOutputs(HEAD);

        ComputationGraph adapted = new ComputationGraph(graph.build());
        adapted.init();
        ComputationGraph from = paramsFrom != null ? paramsFrom : source;
        for (Layer layer : adapted.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            boolean carried = paramsFrom != null || encoder.contains(name);
            if (carried && from.getLayer(name) != null && layer.numParams() > 0) {
                layer.params().assign(from.getLayer(name).params());
            }
        }
        return adapted;
    }

    /** Whether the encoder's output is a sequence (token ids through an embedding) that the head reads pooled. */
    private static boolean overTime(Checkpoint pretrained, List<String> encoder) {
        return pretrained.graph().getLayer(encoder.get(0)).conf().getLayer() instanceof EmbeddingSequenceLayer;
    }

    /** What the network reads: token ids into an embedding, or flat image rows as the manifest records them. */
    private static InputType inputType(Checkpoint pretrained, List<String> encoder) {
        org.deeplearning4j.nn.conf.layers.Layer first = pretrained.graph().getLayer(encoder.get(0)).conf().getLayer();
        if (first instanceof EmbeddingSequenceLayer embedding) {
            return InputType.recurrent(embedding.getNIn());
        }
        if (pretrained.info().network().get("image") instanceof Map<?, ?> image) {
            return InputType.convolutionalFlat(((Number) image.get("rows")).longValue(),
                    ((Number) image.get("cols")).longValue(), ((Number) image.get("channels")).longValue());
        }
        throw new CheckpointException("the checkpoint's network starts with '" + encoder.get(0) + "', neither a token "
                + "embedding nor an image network with network.image in its manifest");
    }

    private static BaseLayer head(FinetuneSettings s, long width) {
        OutputLayer.Builder b = switch (s.task()) {
            case FinetuneSettings.MULTICLASS -> new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                    .activation(Activation.SOFTMAX);
            case FinetuneSettings.REGRESSION -> new OutputLayer.Builder("mae".equals(s.regressionLoss())
                    ? LossFunctions.LossFunction.MEAN_ABSOLUTE_ERROR : LossFunctions.LossFunction.MSE)
                    .activation(Activation.IDENTITY);
            // binary and multilabel: an independent sigmoid and cross-entropy per output
            default -> new OutputLayer.Builder(LossFunctions.LossFunction.XENT).activation(Activation.SIGMOID);
        };
        return b.weightInit(WeightInit.XAVIER).nIn(width).nOut(s.outputs()).build();
    }

    private static double factor(Map<String, Double> factors, String name, String group) {
        return factors.getOrDefault(name, factors.getOrDefault(group, 1.0));
    }

    private static IUpdater updater(WarmupSchedule schedule, double factor, FinetuneSettings s) {
        // A factor of 0 is plain SGD at rate 0; DL4J's NoOp would apply the raw gradient instead.
        IUpdater adam = factor == 0 ? new Sgd(0.0) : new Adam(schedule.scaled(factor));
        return s.accumulate() > 1 ? new AccumulatingUpdater(adam, s.accumulate()) : adam;
    }

    private static void configure(org.deeplearning4j.nn.conf.layers.Layer layer, IUpdater updater,
                                  FinetuneSettings s) {
        List<Regularization> weights = new ArrayList<>();
        if (s.l2() > 0) {
            weights.add(new L2Regularization(s.l2()));
        }
        if (s.weightDecay() > 0) {
            weights.add(new WeightDecay(s.weightDecay(), true));
        }
        GradientNormalization clip = s.gradientClip() > 0 ? GradientNormalization.ClipL2PerLayer
                : GradientNormalization.None;
        if (layer instanceof BaseLayer b) {
            b.setIUpdater(updater);
            b.setBiasUpdater(null);
            b.setRegularization(weights);
            b.setRegularizationBias(new ArrayList<>());
            b.setGradientNormalization(clip);
            b.setGradientNormalizationThreshold(s.gradientClip());
        }
    }
}

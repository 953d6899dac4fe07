package dev.anneal.core.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine and executor keys: defaults, overrides, and errors that name the key. */
class EngineKnobsTest {

    private static PretrainConfig load(String... overrides) {
        List<String> all = new java.util.ArrayList<>(List.of("input=/in", "output=/out"));
        all.addAll(List.of(overrides));
        return PretrainConfig.SCHEMA.load(null, all);
    }

    @Test
    void defaultsAreAdaptiveSharingOnLoopbackAndAutoSizedExecutors() {
        TrainingSettings t = load().training();
        assertEquals(TrainingSettings.PARAMETER_AVERAGING, t.engine());
        assertEquals(GradientSharingSettings.loopback(), t.gradientSharing());
        assertEquals(ExecutorSettings.defaults(), t.executor());
        assertEquals(TrainingSettings.EXCHANGE_AUTO, t.localSgdExchange());
        assertEquals(1.0, t.localSgdDensity(), "local-sgd averages whole networks unless told otherwise");
        assertEquals(1, t.executor().threadsFor(1), "one native thread per single-core task");
        assertEquals(4, t.executor().threadsFor(4), "a task holding 4 cores gets 4 threads");
        assertEquals(ExecutorSettings.GIB, t.executor().offHeapFor(ExecutorSettings.GIB),
                "a small executor still gets 1 GiB off-heap");
        assertEquals(4 * ExecutorSettings.GIB, t.executor().offHeapFor(8 * ExecutorSettings.GIB),
                "half the heap for a large one");
    }

    @Test
    void everyKnobCanBeSet() {
        TrainingSettings t = load("training.engine=gradient-sharing",
                "training.gradientSharing.thresholdAlgorithm=target-sparsity",
                "training.gradientSharing.threshold=0.005", "training.gradientSharing.sparsityTarget=0.01",
                "training.gradientSharing.residualClip=0", "training.gradientSharing.residualClipEvery=3",
                "training.gradientSharing.workersPerNode=2", "training.gradientSharing.port=41000",
                "training.gradientSharing.networkMask=10.0.0.0/16", "training.gradientSharing.controller=",
                "executor.threads=3", "executor.offHeap=2g", "training.localSgd.exchange=aggregate").training();
        assertEquals(TrainingSettings.EXCHANGE_AGGREGATE, t.localSgdExchange());
        assertEquals(new GradientSharingSettings("target-sparsity", 0.005, 0.01, 0, 3, 2, 41000, "10.0.0.0/16", ""),
                t.gradientSharing());
        assertEquals(new ExecutorSettings(3, 2 * ExecutorSettings.GIB), t.executor());
        assertEquals(3, t.executor().threadsFor(1), "an explicit thread count wins");
    }

    @Test
    void sizesParseLikeSparkAndBadOnesNameTheKey() {
        assertEquals(512 * ExecutorSettings.MIB, ExecutorSettings.parseSize("k", "512m"));
        assertEquals(3 * ExecutorSettings.GIB, ExecutorSettings.parseSize("k", "3G"));
        assertEquals(2 * ExecutorSettings.GIB, ExecutorSettings.parseSize("k", "2gb"));
        assertEquals(1234, ExecutorSettings.parseSize("k", "1234"));
        assertEquals(0, ExecutorSettings.parseSize("k", " "));
        ConfigException e = assertThrows(ConfigException.class, () -> load("executor.offHeap=lots"));
        assertTrue(e.getMessage().contains("executor.offHeap") && e.getMessage().contains("lots"), e.getMessage());
    }

    @Test
    void badKnobsAreConfigErrorsNamingTheKey() {
        assertMessage("training.gradientSharing.thresholdAlgorithm", "training.gradientSharing.thresholdAlgorithm=magic");
        assertMessage("training.gradientSharing.sparsityTarget", "training.gradientSharing.sparsityTarget=1.5");
        assertMessage("training.gradientSharing.residualClip", "training.gradientSharing.residualClip=-1");
        assertMessage("training.gradientSharing.workersPerNode", "training.gradientSharing.workersPerNode=-1");
        assertMessage("executor.threads", "executor.threads=-2");
        assertMessage("training.localSgd.exchange", "training.localSgd.exchange=mpi");
        assertMessage("training.localSgd.density", "training.localSgd.density=0");
        assertMessage("training.localSgd.density", "training.localSgd.density=1.5");
    }

    @Test
    void aSparseExchangeIsSetByItsDensityAndNeedsTheBarrierExchange() {
        TrainingSettings t = load("training.engine=local-sgd", "training.localSgd.density=0.02").training();
        assertEquals(0.02, t.localSgdDensity());
        ConfigException e = assertThrows(ConfigException.class, () -> load("training.engine=local-sgd",
                "training.localSgd.density=0.02", "training.localSgd.exchange=aggregate"));
        assertTrue(e.getMessage().contains("training.localSgd.density 0.02 needs the barrier exchange"),
                e.getMessage());
    }

    private static void assertMessage(String key, String override) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(override));
        assertTrue(e.getMessage().contains(key + " must"), e.getMessage());
    }
}

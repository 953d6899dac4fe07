package dev.anneal.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Whether OpenBLAS runs kernels below what the CPU offers. OpenBLAS picks its kernels from the CPU model, or from
 * {@code OPENBLAS_CORETYPE}; the 0.3.19 that ND4J bundles does not know recent CPUs, and an environment may name a
 * lower core type for all machines. On an AMD EPYC with AVX-512 whose environment set {@code Haswell}, ND4J's
 * sgemm ran 1.8× faster on one thread with {@code SkylakeX} (docs/BENCHMARKS.md, "OpenBLAS's kernels"). Each JVM
 * logs its setting once, with a hint where the CPU offers more; {@code bin/anneal} names the core type itself when
 * the environment does not.
 */
final class BlasKernels {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BlasKernels.class);
    /** The flags OpenBLAS's SkylakeX kernels need. */
    static final Set<String> AVX512 = Set.of("avx512f", "avx512bw", "avx512dq", "avx512vl");
    /** Core types whose sgemm kernels use AVX-512. */
    private static final Set<String> AVX512_CORES = Set.of("SKYLAKEX", "COOPERLAKE", "SAPPHIRERAPIDS");
    private static volatile boolean said;

    private BlasKernels() {
    }

    /**
     * A hint when the CPU has AVX-512 and OpenBLAS may not use it, else empty.
     *
     * @param cpuFlags the CPU's flags as {@code /proc/cpuinfo} lists them, space-separated
     * @param coreType {@code OPENBLAS_CORETYPE}, or null when unset
     */
    static Optional<String> hint(String cpuFlags, String coreType) {
        Set<String> flags = Set.of(cpuFlags.trim().split("\\s+"));
        if (!flags.containsAll(AVX512)) {
            return Optional.empty();
        }
        if (coreType == null || coreType.isBlank()) {
            return Optional.of("the CPU has AVX-512 and OPENBLAS_CORETYPE is unset: OpenBLAS picks its kernels from "
                    + "the CPU model, and the 0.3.19 bundled with ND4J takes its AVX2 ones on CPUs it does not know; "
                    + "OPENBLAS_CORETYPE=SkylakeX in the environment (spark.executorEnv.OPENBLAS_CORETYPE for "
                    + "executors) makes sure of the AVX-512 ones (docs/ENGINES.md)");
        }
        if (AVX512_CORES.contains(coreType.trim().toUpperCase(Locale.ROOT))) {
            return Optional.empty();
        }
        return Optional.of("the CPU has AVX-512, which " + coreType.trim() + "'s kernels leave unused; with SkylakeX, "
                + "ND4J's sgemm ran 1.8x faster on one thread of an AVX-512 AMD EPYC (docs/BENCHMARKS.md, "
                + "\"OpenBLAS's kernels\")");
    }

    /** The first {@code flags} line of {@code cpuinfo}, or empty where there is none (not Linux). */
    static String cpuFlags(Path cpuinfo) {
        if (!Files.isReadable(cpuinfo)) {
            return "";
        }
        try (Stream<String> lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1)).orElse("");
        } catch (IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    /** What this JVM runs with, and {@link #hint} where there is one: the line {@link #sayOnce} logs. */
    static String summary(String cpuFlags, String coreType) {
        String setting = coreType == null || coreType.isBlank() ? "OPENBLAS_CORETYPE unset (OpenBLAS picks from the "
                + "CPU model)" : "OPENBLAS_CORETYPE=" + coreType.trim();
        return setting + hint(cpuFlags, coreType).map(h -> "; " + h).orElse("");
    }

    /**
     * Logs {@link #summary} for this machine, once per JVM: by the driver when it starts its session, and by each
     * executor when Kryo first starts there ({@link AnnealKryoRegistrator}), since executors start from their
     * node's environment.
     */
    static void sayOnce() {
        if (said) {
            return;
        }
        said = true;
        LOG.info("OpenBLAS kernels: {}", summary(cpuFlags(Path.of("/proc/cpuinfo")),
                System.getenv("OPENBLAS_CORETYPE")));
    }
}

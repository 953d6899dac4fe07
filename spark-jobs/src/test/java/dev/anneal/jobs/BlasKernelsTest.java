package dev.anneal.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlasKernelsTest {
    private static final String AVX2 = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx fma avx2 bmi2";
    private static final String AVX512 = AVX2 + " avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni";

    @Test
    void aCpuWithoutAvx512NeedsNoHint() {
        assertEquals(Optional.empty(), BlasKernels.hint(AVX2, "Haswell"));
        assertEquals(Optional.empty(), BlasKernels.hint(AVX2, null));
        // avx512f alone is not enough for the SkylakeX kernels.
        assertEquals(Optional.empty(), BlasKernels.hint(AVX2 + " avx512f", "Haswell"));
    }

    @Test
    void anAvx512CpuOnLowerKernelsGetsAHintThatNamesTheSetting() {
        String hint = BlasKernels.hint(AVX512, "Haswell").orElseThrow();
        assertTrue(hint.contains("Haswell's kernels leave unused") && hint.contains("SkylakeX"), hint);
        assertTrue(BlasKernels.hint(AVX512, " ").orElseThrow().contains("unset"));
        assertTrue(BlasKernels.hint(AVX512, null).orElseThrow().contains("spark.executorEnv.OPENBLAS_CORETYPE"));
    }

    @Test
    void avx512KernelsNeedNoHint() {
        assertEquals(Optional.empty(), BlasKernels.hint(AVX512, "SkylakeX"));
        assertEquals(Optional.empty(), BlasKernels.hint(AVX512, "cooperlake"));
    }

    @Test
    void theLoggedLineNamesTheSettingAndAddsTheHint() {
        assertEquals("OPENBLAS_CORETYPE=SkylakeX", BlasKernels.summary(AVX512, "SkylakeX"));
        assertTrue(BlasKernels.summary(AVX2, null).startsWith("OPENBLAS_CORETYPE unset"));
        String lower = BlasKernels.summary(AVX512, "Haswell");
        assertTrue(lower.startsWith("OPENBLAS_CORETYPE=Haswell; the CPU has AVX-512") && lower.contains("1.8x faster"),
                lower);
    }

    @Test
    void readsTheFlagsLineOfCpuinfo(@TempDir Path dir) throws IOException {
        Path cpuinfo = dir.resolve("cpuinfo");
        Files.writeString(cpuinfo, "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: " + AVX512
                + "\nbugs\t\t: sysret_ss_attrs\nprocessor\t: 1\nflags\t\t: fpu\n");
        assertEquals(AVX512, BlasKernels.cpuFlags(cpuinfo).trim());
        assertEquals("", BlasKernels.cpuFlags(dir.resolve("absent")));
    }
}

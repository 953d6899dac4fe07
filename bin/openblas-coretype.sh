# shellcheck shell=bash
# Sourced by bin/anneal and the benchmark scripts: names OpenBLAS's kernels from the CPU's flags, unless the
# environment already does (OPENBLAS_CORETYPE). OpenBLAS picks them from the CPU model, and the OpenBLAS 0.3.19 that
# ND4J bundles does not know recent ones: on an AMD EPYC with AVX-512 it took its AVX2 (Haswell) kernels, and ND4J's
# sgemm ran at 124 GFLOP/s on one thread, against 224 with SkylakeX's (docs/BENCHMARKS.md, "OpenBLAS's kernels").
# On a virtual CPU that reports a generic model, Debian's OpenBLAS (under PyTorch) fell back to generic kernels.
# Executors on a cluster start from their own environment: see docs/ENGINES.md.
anneal_openblas_coretype() {
  [[ -n "${OPENBLAS_CORETYPE:-}" || ! -r /proc/cpuinfo ]] && return 0
  local flags
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  if [[ $flags == *" avx512f "* && $flags == *" avx512bw "* && $flags == *" avx512dq "* && $flags == *" avx512vl "* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
}

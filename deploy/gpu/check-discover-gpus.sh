#!/usr/bin/env bash
# check-discover-gpus.sh: exercise discover-gpus.sh without a GPU, against stand-in nvidia-smi programs, and lint
# the scripts with ShellCheck when it is installed (Debian: apt-get install shellcheck). Not part of `mvn test`; run
# it by hand after changing the discovery script. Prints one line per case and "N passed, M failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script="$here/discover-gpus.sh"
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT

stub() { # stub NAME EXIT-CODE OUTPUT: an nvidia-smi that prints OUTPUT and exits with EXIT-CODE
  printf '#!/bin/sh\nprintf "%%s" "%s"\nexit %s\n' "$2" "$1" > "$stubs/$3"
  chmod +x "$stubs/$3"
}
stub 0 $'0\n1\n' two
stub 0 $'0\n' one
stub 0 '' none
stub 9 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' broken
stub 0 $'0\nNo devices were found\n' garbled

passed=0 failed=0
check() { # check NAME WANT-EXIT WANT-STDOUT WANT-STDERR-PART [VAR=VALUE...]
  local name=$1 want_rc=$2 want_out=$3 want_err=$4 out err rc
  shift 4
  rc=0
  out=$(env -u CUDA_VISIBLE_DEVICES "$@" "$script" 2> "$stubs/err") || rc=$?
  err=$(cat "$stubs/err")
  if [[ $rc == "$want_rc" && $out == "$want_out" && $err == *"$want_err"* ]]; then
    passed=$((passed + 1))
    echo "ok    $name"
  else
    failed=$((failed + 1))
    echo "FAIL  $name: exit $rc (want $want_rc), stdout '$out' (want '$want_out'), stderr '$err' (want '*$want_err*')"
  fi
}

check "two GPUs" 0 '{"name":"gpu","addresses":["0","1"]}' '' NVIDIA_SMI="$stubs/two"
check "one GPU" 0 '{"name":"gpu","addresses":["0"]}' '' NVIDIA_SMI="$stubs/one"
check "no GPU" 1 '' 'lists no GPU' NVIDIA_SMI="$stubs/none"
check "nvidia-smi missing" 1 '' 'not found' NVIDIA_SMI="$stubs/absent"
check "nvidia-smi failing" 1 '' 'could not communicate with the NVIDIA driver' NVIDIA_SMI="$stubs/broken"
check "unexpected output" 1 '' "unexpected line from $stubs/garbled: 'Nodeviceswerefound'" NVIDIA_SMI="$stubs/garbled"
check "CUDA_VISIBLE_DEVICES=1: renumbered from 0" 0 '{"name":"gpu","addresses":["0"]}' '' \
  NVIDIA_SMI="$stubs/two" CUDA_VISIBLE_DEVICES=1
check "CUDA_VISIBLE_DEVICES=1,0" 0 '{"name":"gpu","addresses":["0","1"]}' '' \
  NVIDIA_SMI="$stubs/two" CUDA_VISIBLE_DEVICES=1,0
check "CUDA_VISIBLE_DEVICES empty" 1 '' 'makes no GPU visible' NVIDIA_SMI="$stubs/two" CUDA_VISIBLE_DEVICES=
check "CUDA_VISIBLE_DEVICES=-1" 1 '' 'makes no GPU visible' NVIDIA_SMI="$stubs/two" CUDA_VISIBLE_DEVICES=-1

fake="$here/../../spark-jobs/src/test/resources/fake-gpus.sh"
rc=0
out=$("$fake") || rc=$?
if [[ $rc == 0 && $out == '{"name":"gpu","addresses":["3","5"]}' ]]; then
  passed=$((passed + 1))
  echo "ok    fake-gpus.sh for tests"
else
  failed=$((failed + 1))
  echo "FAIL  fake-gpus.sh for tests: exit $rc, stdout '$out'"
fi

if command -v shellcheck > /dev/null 2>&1; then
  if shellcheck "$script" "$here/check-discover-gpus.sh" "$fake"; then
    passed=$((passed + 1))
    echo "ok    shellcheck"
  else
    failed=$((failed + 1))
    echo "FAIL  shellcheck"
  fi
else
  echo "skip  shellcheck (not installed)"
fi

echo "$passed passed, $failed failed"
((failed == 0))

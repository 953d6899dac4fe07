#!/usr/bin/env bash
# A stand-in GPU discovery script for tests (the real one is deploy/gpu/discover-gpus.sh). The addresses are not 0 and
# not contiguous, so a test can tell that the ones Spark assigned reached the task.
echo '{"name":"gpu","addresses":["3","5"]}'

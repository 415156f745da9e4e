#!/usr/bin/env bash
# Builds fuzz/out/replay, mutate and emc_run (gcc, ASan+UBSan) and, when clang has libFuzzer, fuzz/out/fuzz_load_invoke.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rt=$here/../runtime_c
out=${1:-$here/out}
mkdir -p "$out"
srcs=$(ls "$rt"/src/*.c "$rt"/kernels/v3/*.c "$rt"/kernels/generic/*.c)
flags="-std=c99 -g -O1 -ffp-contract=off -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -I$rt/include -I$rt/src"
gcc $flags -o "$out/replay" "$here/replay_main.c" "$here/fuzz_load_invoke.c" $srcs -lm
gcc $flags -o "$out/mutate" "$here/mutate_main.c" "$here/fuzz_load_invoke.c" $srcs -lm
gcc $flags -I"$rt/ports/host" -o "$out/emc_run" "$rt/ports/host/emc_run.c" "$rt/ports/host/emc_port_host.c" $srcs -lm
if command -v clang >/dev/null; then
  clang $flags -fsanitize=fuzzer -o "$out/fuzz_load_invoke" "$here/fuzz_load_invoke.c" $srcs -lm || true
fi

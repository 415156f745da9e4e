#!/bin/bash
# Builds libinsnregion.so, a QEMU (7.2) TCG plugin that counts guest instructions between two marker PCs.
# Usage: build.sh [OUTDIR]   (default: <repo>/build/qemu_insn, where emc.hil.qemu.find_plugin looks).
# Copied from the project's shared tools (shared/tools/qemu-insn); only the default OUTDIR differs. Needs gcc; fetches qemu-plugin.h once from Debian's qemu
# source package (the binary packages do not ship it), through a temporary deb-src twin of the machine's
# own Debian apt entry.
# Run:   qemu-system-arm ... -plugin OUTDIR/libinsnregion.so,begin=0xADDR,end=0xADDR -d plugin
#        (ADDR: `arm-none-eabi-nm fw.elf | grep prof_begin`; the Thumb bit is cleared by the plugin)
# Prints "region N: X insns" for each begin..end pair and "total: X insns" at exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
def="$here/../../build/qemu_insn"
out=$(mkdir -p "${1:-$def}" && cd "${1:-$def}" && pwd)
if [ ! -f "$out/qemu-plugin.h" ]; then
  tmp=$(mktemp -d)
  twin=/etc/apt/sources.list.d/qemu-insn-src.sources
  awk 'BEGIN{RS="";ORS="\n\n"} /Types: deb/ && /Suites: bookworm[ \n]/ {sub(/Types: deb/,"Types: deb-src"); print}' \
    /etc/apt/sources.list.d/debian.sources > "$twin"
  trap 'rm -f "$twin"; apt-get update -qq >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
  apt-get update -qq >/dev/null
  (cd "$tmp" && apt-get source --download-only -qq qemu >/dev/null)
  tar -xJf "$tmp"/qemu_*.orig.tar.xz -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
  cp "$tmp"/*/include/qemu/qemu-plugin.h "$out/"
fi
gcc -O2 -fPIC -shared -Wall -I"$out" -o "$out/libinsnregion.so" "$here/insnregion.c"
gcc -O2 -fPIC -shared -Wall -I"$out" -o "$out/libinsnprofile.so" "$here/insnprofile.c"
echo "$out/libinsnregion.so"

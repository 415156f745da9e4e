#!/bin/bash
# Makes PlatformIO build the QEMU envs offline (no PlatformIO registry): PlatformIO's core only
# needs its SCons package, which this script builds from PyPI's scons as a local package in
# <repo>/build/pio/tool-scons; the QEMU envs name it in platform_packages (file://) and use the
# local platform firmware_common/pio/platform-emc-qemu, which needs no package at all.
#   bash firmware_common/pio/setup_offline.sh [PYTHON]   (the Python that has platformio; default python3)
#   cd firmware_stm32 && pio run -e qemu_m4             (or firmware_k210: -e qemu_rv64)
set -euo pipefail
py=${1:-python3}
ver=$("$py" - <<'PY'
import re, importlib.util, pathlib
spec = importlib.util.find_spec("platformio")
txt = (pathlib.Path(spec.origin).parent / "dependencies.py").read_text()
print(re.search(r'"tool-scons":\s*"~?([0-9.]+)"', txt).group(1))
PY
)
# 4.40801.0 -> scons 4.8.1
mm=$(echo "$ver" | cut -d. -f2)
scons_ver="$(( ${mm:0:1} )).$(( 10#${mm:1:2} )).$(( 10#${mm:3:2} ))"
here=$(cd "$(dirname "$0")" && pwd)
dir=$here/../../build/pio/tool-scons
if [ ! -f "$dir/package.json" ] || ! grep -q "\"$ver\"" "$dir/package.json"; then
  rm -rf "$dir" && mkdir -p "$dir"
  "$py" -m pip install -q --no-deps --target "$dir" "scons==$scons_ver"
  cat > "$dir/scons.py" <<'PY'
import sys
from SCons.Script.Main import main
sys.exit(main())
PY
  printf '{"name": "tool-scons", "version": "%s", "description": "SCons from PyPI (offline)"}\n' "$ver" > "$dir/package.json"
fi
echo "tool-scons $ver (scons $scons_ver) in $dir"

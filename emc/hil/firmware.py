"""Build the HIL firmwares (make over the same sources as the PlatformIO envs) and report their size.

    from emc.hil import firmware
    elf = firmware.build("qemu-m4")            # incremental: make decides what is stale
    print(firmware.elf_sizes(elf))             # {'flash': ..., 'ram': ..., 'text': ...}

Outputs go to <repo>/build/firmware/<target>[-stub]/ (gitignored), or $EMC_FW_BUILD.
Cortex-M targets run the generic int8 kernels on the DSP extension by default (runtime_c/ports/
cortex_m, make DSP=1); kernels="portable" (or $EMC_FW_KERNELS=portable) builds the portable
reference kernels into <target>-portable/.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import pathlib
import shutil
import struct
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    directory: str          # folder with the Makefile, relative to the repository
    make_target: str
    artifact: str           # file name inside the build folder
    compiler: str           # the executable that must exist to build
    machine: str = ""       # QEMU machine description (for reports)


TARGETS = {
    "qemu-m4": Target("qemu-m4", "firmware_stm32", "qemu-m4", "fw.elf", "arm-none-eabi-gcc",
                      "QEMU mps2-an386, Cortex-M4F"),
    "qemu-m7": Target("qemu-m7", "firmware_stm32", "qemu-m7", "fw.elf", "arm-none-eabi-gcc",
                      "QEMU mps2-an500, Cortex-M7"),
    "qemu-rv64": Target("qemu-rv64", "firmware_k210", "qemu-rv64", "fw.elf", "riscv64-unknown-elf-gcc",
                        "QEMU virt, RV64GC (K210 stand-in, software KPU)"),
    "host": Target("host", "firmware_common", "host", "hil_host", "cc", "Linux process on a pty"),
}


class FirmwareError(RuntimeError):
    pass


def build_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("EMC_FW_BUILD", ROOT / "build" / "firmware"))


def runtime_kind(runtime: str = "auto") -> str:
    if runtime != "auto":
        return runtime
    srcs = list((ROOT / "runtime_c" / "src").glob("*.c"))
    return "real" if srcs else "stub"


KERNELS = ("dsp", "portable")
DSP_TARGETS = ("qemu-m4", "qemu-m7")     # cores with the DSP extension: make DSP=1|0


def kernels_kind(target: str, kernels: str | None = None) -> str:
    """'dsp' or 'portable' for a Cortex-M target (default $EMC_FW_KERNELS or 'dsp'); other
    targets always run the portable kernels."""
    k = kernels or os.environ.get("EMC_FW_KERNELS") or "dsp"
    if k not in KERNELS:
        raise FirmwareError(f"kernels must be one of {KERNELS}, not {k!r}")
    return k if target in DSP_TARGETS else "portable"


def artifact_path(target: str, runtime: str = "auto", kernels: str | None = None) -> pathlib.Path:
    t = TARGETS[target]
    kind = runtime_kind(runtime)
    if target == "host":
        return build_root() / f"host-{kind}" / t.artifact
    suffix = "-stub" if kind == "stub" else ""
    if not suffix and target in DSP_TARGETS and kernels_kind(target, kernels) == "portable":
        suffix = "-portable"
    return build_root() / (t.name + suffix) / t.artifact


def toolchain_available(target: str) -> bool:
    return shutil.which(TARGETS[target].compiler) is not None and shutil.which("make") is not None


def build(target: str, runtime: str = "auto", *, clean: bool = False, jobs: int = 2,
          extra: tuple = (), kernels: str | None = None) -> pathlib.Path:
    """Run make for one target (does nothing when the ELF is up to date). Returns the artifact.
    kernels: 'dsp' (default for qemu-m4/m7) or 'portable' (see kernels_kind)."""
    if target not in TARGETS:
        raise FirmwareError(f"unknown firmware target {target!r}; known: {', '.join(TARGETS)}")
    t = TARGETS[target]
    if not toolchain_available(target):
        raise FirmwareError(f"{t.compiler} not found: install the cross toolchain (see docs/hil_protocol.md)")
    out = artifact_path(target, runtime, kernels)
    args = ["make", "-s", f"-j{jobs}", "-C", str(ROOT / t.directory), f"RUNTIME={runtime_kind(runtime)}"]
    if target in DSP_TARGETS:
        args.append("DSP=" + ("1" if kernels_kind(target, kernels) == "dsp" else "0"))
    if target == "host":
        args.append(f"BUILD={out.parent}")
    else:
        args.append(f"BUILD_ROOT={build_root()}")
    args += list(extra)
    build_root().mkdir(parents=True, exist_ok=True)
    with open(build_root() / ".lock", "w") as lock:  # parallel test workers: one make at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if clean:
            subprocess.run(args + ["clean"], check=False, capture_output=True)
        r = subprocess.run(args + [t.make_target], capture_output=True, text=True)
    if r.returncode != 0:
        raise FirmwareError(f"building {target} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    if not out.exists():
        raise FirmwareError(f"build of {target} produced no {out}")
    return out


# ---- ELF inspection (no binutils needed) -------------------------------------------------------
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHT_SYMTAB, SHT_NOBITS = 2, 8


def _sections(data: bytes):
    if data[:4] != b"\x7fELF":
        raise FirmwareError("not an ELF file")
    is64 = data[4] == 2
    if data[5] != 1:
        raise FirmwareError("big-endian ELF not supported")
    if is64:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    else:
        shoff, = struct.unpack_from("<I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    secs = []
    for i in range(shnum):
        o = shoff + i * shentsize
        if is64:
            name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from("<IIQQQQIIQQ", data, o)
        else:
            name, typ, flags, addr, off, size, link, info, align, entsize = struct.unpack_from("<IIIIIIIIII", data, o)
        secs.append(dict(name_off=name, type=typ, flags=flags, addr=addr, offset=off, size=size, link=link,
                         entsize=entsize))
    strtab = secs[shstrndx]
    for s in secs:
        start = strtab["offset"] + s["name_off"]
        s["name"] = data[start:data.index(b"\0", start)].decode()
    return is64, secs


def elf_symbols(path) -> dict:
    """{name: address} of every symbol in the ELF's symbol table."""
    data = pathlib.Path(path).read_bytes()
    is64, secs = _sections(data)
    out = {}
    for s in secs:
        if s["type"] != SHT_SYMTAB:
            continue
        strs = secs[s["link"]]
        n = s["size"] // s["entsize"]
        for i in range(n):
            o = s["offset"] + i * s["entsize"]
            if is64:
                name, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, o)
            else:
                name, value, _size, _info, _other, _shndx = struct.unpack_from("<IIIBBH", data, o)
            if name:
                start = strs["offset"] + name
                out[data[start:data.index(b"\0", start)].decode()] = value
    return out


def elf_sizes(path) -> dict:
    """Sizes like arm-none-eabi-size, split the way a board sees them:

    text (code), rodata (constants, vector table), data (initialised RAM; its image also sits in
    flash), bss (zeroed RAM, without the stack), stack; flash = text + rodata + data;
    ram = data + bss + stack. The arena and the model/input/capture buffers are linker symbols
    (arena = all RAM left), reported as arena when the ELF defines them."""
    _, secs = _sections(pathlib.Path(path).read_bytes())
    r = dict(text=0, rodata=0, data=0, bss=0, stack=0)
    for s in secs:
        f = s["flags"]
        if not f & SHF_ALLOC or s["size"] == 0:
            continue
        if s["name"] in (".stack", "._user_heap_stack"):
            r["stack"] += s["size"]
        elif f & SHF_EXECINSTR:
            r["text"] += s["size"]
        elif not f & SHF_WRITE:
            r["rodata"] += s["size"]
        elif s["type"] == SHT_NOBITS:
            r["bss"] += s["size"]
        else:
            r["data"] += s["size"]
    r["flash"] = r["text"] + r["rodata"] + r["data"]
    r["ram"] = r["data"] + r["bss"] + r["stack"]
    syms = elf_symbols(path)
    if "__hil_arena_start" in syms and "__hil_arena_end" in syms:
        r["arena"] = syms["__hil_arena_end"] - syms["__hil_arena_start"]
    return r


# ---- real-board memory budgets (offline) -------------------------------------------------------
def platformio_envs(directory: str = "firmware_stm32") -> dict:
    """{env name: {'board', 'ldscript', 'defines': [-D...]}} from a platformio.ini (emc.boards reads it:
    [env] defaults, extends, extra_configs, interpolation)."""
    from emc.boards import read_envs

    return {n: dict(board=e.get("board"), ldscript=e.get("board_build.ldscript"),
                    defines=[f for f in e.flags("build_flags") if f.startswith("-D")])
            for n, e in read_envs(directory).items()}


_FIT_CPU = {
    "sipeed-maix-bit": "-march=rv64imafdc -mabi=lp64d -mcmodel=medany",
    "nucleo_l4r5zi": "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard",
    "nucleo_f446re": "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard",
    "nucleo_h743zi": "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard",
}


def fit_check(env: str, runtime: str = "auto") -> dict:
    """Link the firmware (common code + runtime + a link-only board stand-in with the env's buffer
    sizes) with the env's linker script, with Debian's arm-none-eabi-gcc: proves that a real-board
    build fits its flash/RAM without PlatformIO's registry. Returns elf_sizes() plus 'buffers'."""
    import glob
    import shlex

    rv = env == "sipeed-maix-bit"
    envs = platformio_envs("firmware_k210" if rv else "firmware_stm32")
    if env not in envs or env not in _FIT_CPU:
        raise FirmwareError(f"no fit check for env {env!r}")
    cc = "riscv64-unknown-elf-gcc" if rv else "arm-none-eabi-gcc"
    if shutil.which(cc) is None:
        raise FirmwareError(f"{cc} not found")
    e = envs[env]
    kind = runtime_kind(runtime)
    out = build_root() / f"fit-{env}"
    out.mkdir(parents=True, exist_ok=True)
    srcs = [ROOT / "firmware_common/src/hil.c", ROOT / "firmware_common/src/hil_crc32.c",
            ROOT / "firmware_stm32/src/board_fitcheck.c"]
    incs = ["-I" + str(ROOT / "firmware_common/include"), "-I" + str(ROOT / "runtime_c/include")]
    if kind == "stub":
        srcs.append(ROOT / "firmware_common/stub/emc_runtime_stub.c")
        incs.append("-DHIL_STUB_RUNTIME")
    else:
        for pat in ("runtime_c/src/*.c", "runtime_c/kernels/*.c", "runtime_c/kernels/*/*.c") + \
                (("runtime_c/ports/k210/*.c",) if rv else ("runtime_c/ports/cortex_m/*.c",)):
            srcs += sorted(pathlib.Path(p) for p in glob.glob(str(ROOT / pat)))
        incs += ["-I" + str(ROOT / "runtime_c/src"), "-I" + str(ROOT / "runtime_c/kernels")]
        if not rv:                  # the boards' build_flags: the Cortex-M DSP kernels
            incs.append("-DEMC_USE_DSP=1")
    defines = [d.replace('\\"', '"') for d in e["defines"]]
    if rv:
        ld = ROOT / "firmware_k210/ld/k210_fitcheck.ld"
        libs = ["--specs=picolibc.specs", "-Wl,--no-warn-rwx-segments"]
    else:
        ld = ROOT / "firmware_stm32" / e["ldscript"]
        libs = ["--specs=nano.specs", "--specs=nosys.specs"]
    cmd = ([cc] + shlex.split(_FIT_CPU[env]) +
           ["-O2", "-ffp-contract=off", "-ffunction-sections", "-fdata-sections", "-nostartfiles"] + libs +
           ["-L" + str(ld.parent), "-T" + str(ld),
            "-Wl,--gc-sections", "-o", str(out / "fw.elf")] + incs + defines + [str(s) for s in srcs] + ["-lm"])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise FirmwareError(f"{env} does not link/fit:\n{r.stderr[-3000:]}")
    sizes = elf_sizes(out / "fw.elf")
    _, secs = _sections((out / "fw.elf").read_bytes())
    sizes["buffers"] = sum(s["size"] for s in secs if s["name"] == ".hilbufs")
    sizes["ram"] -= sizes["buffers"]
    sizes["bss"] -= sizes["buffers"]
    return sizes


def _main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(prog="python -m emc.hil.firmware", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build firmware targets and print their sizes")
    b.add_argument("targets", nargs="*", default=["qemu-m4", "qemu-m7", "qemu-rv64"])
    b.add_argument("--runtime", default="auto", choices=["auto", "real", "stub"])
    f = sub.add_parser("fitcheck", help="link the real-board envs offline to check flash/RAM budgets")
    f.add_argument("envs", nargs="*", default=list(_FIT_CPU))
    f.add_argument("--runtime", default="auto", choices=["auto", "real", "stub"])
    a = ap.parse_args(argv)
    rc = 0
    items = a.targets if a.cmd == "build" else a.envs
    for t in items:
        try:
            if a.cmd == "build":
                p = build(t, a.runtime)
                s = elf_sizes(p) if t != "host" else {}
            else:
                s = fit_check(t, a.runtime)
            print(f"{t}: " + ", ".join(f"{k} {v}" for k, v in s.items()))
        except FirmwareError as e:
            print(f"{t}: FAILED: {e}")
            rc = 1
    return rc


if __name__ == "__main__":
    raise SystemExit(_main())

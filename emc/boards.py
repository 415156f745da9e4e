"""Real-board firmware builds without PlatformIO's registry: the PlatformIO envs of the project
(firmware_stm32, firmware_k210, examples/*) built with the cross compilers installed here against
vendor code given by the user (STM32Cube HAL + CMSIS, Kendryte standalone SDK).

    python -m emc.boards --vendor DIR [--json FILE] [--env NAME ...]
    python3 -m nox -s boards -- --vendor DIR --json FILE

One source of truth: every project flag, define, source filter, linker script, library and memory
limit is read from the env's platformio.ini (and library.json of its lib_deps); this module only
adds what PlatformIO's platform and framework packages would add themselves (PLATFORMS below: CPU
flags from the board, framework include paths and sources, the platform's base flags).

The vendor DIR holds the framework packages' trees, named after the framework package:
    DIR/stm32cubef4, DIR/stm32cubel4, DIR/stm32cubeh7   (Drivers/CMSIS/..., Drivers/STM32xxxx_HAL_Driver/...)
    DIR/k210/kendryte-standalone-sdk                    (lib/bsp, lib/drivers, lds/kendryte.ld)
Outputs: build/boards/<env>/firmware.elf (gitignored). Each row of the JSON report:
{"env", "elf", "flash_bytes", "ram_bytes", "flash_limit", "ram_limit", ...}.
"""
from __future__ import annotations

import concurrent.futures
import configparser
import dataclasses
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECTS = ("firmware_stm32", "firmware_k210", "examples/stm32_nucleo", "examples/k210_maix")
SOURCE_SUFFIXES = (".c", ".S", ".s")

# Exit codes of `python -m emc.boards`
EXIT_OK, EXIT_BUILD, EXIT_FIT, EXIT_USAGE = 0, 1, 3, 2


class BoardsError(RuntimeError):
    pass


# ---- platformio.ini --------------------------------------------------------------------------
@dataclasses.dataclass
class Env:
    name: str
    project: pathlib.Path          # folder of the platformio.ini
    options: dict                  # option -> interpolated string value

    def get(self, key, default=""):
        return self.options.get(key, default)

    def flags(self, key) -> list:
        return shlex.split(self.get(key).replace("\n", " "))

    @property
    def platform(self) -> str:
        return self.get("platform")


_INTERP = re.compile(r"\$\{([^}]+)\}")


def _read_ini(path: pathlib.Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False, inline_comment_prefixes=(";",))
    cp.optionxform = str
    cp.read(path)
    return cp


def read_envs(project: str | os.PathLike) -> dict:
    """{env name: Env} of one PlatformIO project, with [env] defaults, `extends` and ${section.option}
    / ${PROJECT_DIR} interpolation applied (PlatformIO's rules, enough for this project's files)."""
    pdir = (ROOT / project).resolve()
    ini = pdir / "platformio.ini"
    if not ini.is_file():
        raise BoardsError(f"{ini}: no such file")
    cp = _read_ini(ini)
    extra = cp.get("platformio", "extra_configs", fallback="")
    if extra:               # PlatformIO's [platformio] extra_configs: more ini files, paths relative to the project
        cp.read([pdir / e for e in extra.split()] + [ini])      # the project's own file wins

    def section(name, seen=()):
        if name in seen:
            raise BoardsError(f"{ini}: [{name}]: circular extends")
        own = dict(cp[name]) if cp.has_section(name) else {}
        base = {}
        if name.startswith("env:") and cp.has_section("env"):
            base.update(cp["env"])
        for parent in [p.strip() for p in own.get("extends", "").split(",") if p.strip()]:
            base.update(section(parent if cp.has_section(parent) else "env:" + parent, seen + (name,)))
        base.update(own)
        return base

    def interp(value, depth=0):
        def repl(m):
            key = m.group(1)
            if key == "PROJECT_DIR":
                return str(pdir)
            if key.startswith("sysenv."):
                return os.environ.get(key[7:], "")
            sec, _, opt = key.rpartition(".")
            if not cp.has_section(sec) or opt not in cp[sec]:
                return m.group(0)      # left for PlatformIO/SCons ($BUILD_DIR and the like)
            return interp(cp[sec][opt], depth + 1)
        if depth > 10:
            raise BoardsError(f"{ini}: interpolation too deep in {value[:60]!r}")
        return _INTERP.sub(repl, value)

    out = {}
    for sec in cp.sections():
        if sec.startswith("env:"):
            opts = {k: interp(v).strip() for k, v in section(sec).items()}
            out[sec[4:]] = Env(sec[4:], pdir, opts)
    return out


def all_envs() -> dict:
    out = {}
    for p in PROJECTS:
        if (ROOT / p / "platformio.ini").exists():
            out.update(read_envs(p))
    return out


def real_board_envs() -> dict:
    """The envs this module builds: the ones on a real-board platform (ststm32, kendryte210)."""
    return {n: e for n, e in all_envs().items() if e.platform in PLATFORMS}


# ---- what the PlatformIO platform + framework add ------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Platform:
    compiler: str
    base_cflags: tuple              # the platform's own CCFLAGS (build_unflags can remove them)
    base_linkflags: tuple
    libc: tuple                     # link-time C library selection

    def framework(self, env: Env, vendor: pathlib.Path) -> dict:
        raise NotImplementedError


class STM32Cube(Platform):
    """platform ststm32 + framework stm32cube: -mcpu from the board, USE_HAL_DRIVER and the product
    line define, CMSIS + HAL include paths, the HAL driver sources, the CMSIS system file and startup."""

    def framework(self, env, vendor):
        cpu = env.get("board_build.cpu")
        line = env.get("board_build.product_line")          # e.g. STM32F446xx
        if not cpu or not line:
            raise BoardsError(f"[env:{env.name}] needs board_build.cpu and board_build.product_line")
        fam = line[5:7].lower()                              # f4, l4, h7
        fw = vendor / f"stm32cube{fam}" / "Drivers"
        dev = fw / "CMSIS" / "Device" / "ST" / f"STM32{fam.upper()}xx"
        hal = fw / f"STM32{fam.upper()}xx_HAL_Driver"
        startup = dev / "Source" / "Templates" / "gcc" / f"startup_{line.lower()}.s"
        for p in (hal / "Src", startup):
            if not p.exists():
                raise BoardsError(f"vendor code missing for {env.name}: {p}")
        cpu_flags = [f"-mcpu={cpu}", "-mthumb"]
        return dict(
            cpu=cpu_flags, defines=["-DUSE_HAL_DRIVER", f"-D{line}"],
            includes=[fw / "CMSIS" / "Include", dev / "Include", hal / "Inc"],
            sources=[("hal", s) for s in _hal_sources(hal, fam, env)] +
                    [("cmsis", dev / "Source" / "Templates" / f"system_stm32{fam}xx.c"), ("cmsis", startup)],
            ldscript=None)


def _hal_sources(hal: pathlib.Path, fam: str, env: Env) -> list:
    """The HAL driver files of the modules the project's stm32<fam>xx_hal_conf.h enables (PlatformIO
    compiles every Src/*.c; the others compile to nothing because each is wrapped in its
    HAL_<MODULE>_MODULE_ENABLED, so the image is the same)."""
    conf_name = f"stm32{fam}xx_hal_conf.h"
    conf = None
    for inc in _include_dirs(env):
        if (inc / conf_name).is_file():
            conf = inc
            break
    if conf is None:
        raise BoardsError(f"[env:{env.name}]: no {conf_name} on the include path (build_flags -I...)")
    text = "".join(p.read_text() for p in conf.glob("*.h"))
    mods = {m.lower() for m in re.findall(r"#define\s+HAL_(\w+)_MODULE_ENABLED", text)}
    out = [hal / "Src" / f"stm32{fam}xx_hal.c"]
    for src in sorted((hal / "Src").glob(f"stm32{fam}xx_hal_*.c")):
        mod = src.stem[len(f"stm32{fam}xx_hal_"):]
        if mod.endswith("_ex"):
            mod = mod[:-3]
        if mod in mods:
            out.append(src)
    return out


class KendryteSDK(Platform):
    """platform kendryte210 + framework kendryte-standalone-sdk: the SDK's bsp and drivers, its
    include directories and linker script (lds/kendryte.ld)."""

    def framework(self, env, vendor):
        sdk = vendor / "k210" / "kendryte-standalone-sdk"
        lib = sdk / "lib"
        if not (lib / "bsp" / "crt.S").exists():
            raise BoardsError(f"vendor code missing for {env.name}: {lib / 'bsp' / 'crt.S'}")
        srcs = sorted((lib / "bsp").glob("*.c")) + [lib / "bsp" / "crt.S"] + sorted((lib / "drivers").glob("*.c"))
        return dict(
            cpu=["-mcmodel=medany", "-mabi=lp64f", "-march=rv64imafc"],
            defines=["-DNNCASE_TARGET=k210", "-DCONFIG_LOG_ENABLE", "-DCONFIG_LOG_LEVEL=LOG_INFO", "-DDEBUG=1",
                     "-D__riscv64", "-DK210", "-DARCH=K210", "-DF_CPU=400000000L"],
            includes=[lib / "bsp", lib / "bsp" / "include", lib / "drivers", lib / "drivers" / "include",
                      lib / "utils" / "include", lib / "nncase" / "include"],
            sources=[("sdk", s) for s in srcs],
            ldscript=sdk / "lds" / "kendryte.ld")


# Base flags as the platforms' builders set them (platform-ststm32 builder/frameworks/_bare.py +
# stm32cube.py; sipeed platform-kendryte210 builder/frameworks/_bare.py), without warnings options.
PLATFORMS = {
    "ststm32": STM32Cube(
        "arm-none-eabi-gcc",
        ("-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-std=gnu11"),
        ("-Os", "-Wl,--gc-sections,--relax"),
        ("--specs=nano.specs", "--specs=nosys.specs", "-Wl,--start-group", "-lc", "-lgcc", "-lm", "-Wl,--end-group")),
    "kendryte210": KendryteSDK(
        "riscv64-unknown-elf-gcc",
        ("-Os", "-fno-common", "-ffunction-sections", "-fdata-sections", "-fstrict-volatile-bitfields",
         "-fno-zero-initialized-in-bss", "-Wall", "-std=gnu11",
         "--specs=picolibc.specs"),     # Debian's toolchain: picolibc headers (toolchain-kendryte210: newlib)
        ("-nostartfiles", "-static", "-Wl,--gc-sections", "-Wl,-EL", "-Wl,--no-relax"),
        # Debian's riscv64-unknown-elf-gcc has picolibc, not newlib (see firmware_k210/compat)
        ("--specs=picolibc.specs", "-Wl,--no-warn-rwx-segments",
         "-Wl,--start-group", "-lc", "-lgcc", "-lm", "-Wl,--end-group")),
}


# ---- flags ---------------------------------------------------------------------------------------
def _split_build_flags(env: Env, flags: list) -> dict:
    """PlatformIO's ProcessFlags split: -D/-U defines, -I include dirs (relative to the project),
    -Wl,/-L/-T link flags, `-include FILE`, the rest compiler flags (not link: PlatformIO does not
    pass -mfloat-abi/-mfpu from build_flags to the link, hence custom_float_abi_flags)."""
    out = dict(defines=[], includes=[], cflags=[], linkflags=[])
    it = iter(flags)
    for f in it:
        if f.startswith(("-D", "-U")):
            out["defines"].append(f)
        elif f.startswith("-I"):
            p = f[2:] or next(it)
            out["includes"].append((env.project / p).resolve())
        elif f.startswith(("-Wl,", "-L", "-T")):
            out["linkflags"].append(f)
        elif f == "-include":
            out["cflags"] += [f, next(it)]
        else:
            out["cflags"].append(f)
    return out


def _include_dirs(env: Env) -> list:
    return _split_build_flags(env, env.flags("build_flags"))["includes"]


def _src_filter(base: pathlib.Path, spec: str) -> list:
    """Files selected by a PlatformIO src filter ("+<dir/> -<file> ..."), relative to `base`."""
    chosen: dict = {}
    for sign, pat in re.findall(r"([+-])<([^>]*)>", spec):
        if pat in ("*", "*/", "**"):
            hits = [p for p in base.rglob("*")] if sign == "+" else list(chosen)
        elif pat.endswith("/"):
            hits = list((base / pat).rglob("*"))
        else:
            hits = list(base.glob(pat))
        for h in hits:
            if sign == "+" and h.is_file() and h.suffix in SOURCE_SUFFIXES:
                chosen[h.resolve()] = True
            elif sign == "-":
                chosen.pop(h.resolve(), None)
    return sorted(chosen)


@dataclasses.dataclass
class Library:
    name: str
    root: pathlib.Path
    sources: list
    includes: list
    flags: list


def _libraries(env: Env) -> list:
    """Local lib_deps (`name=symlink://path` or `file://path`, PlatformIO 6 syntax) and their
    library.json: srcDir, includeDir, srcFilter, flags."""
    out = []
    for dep in [d.strip() for d in re.split(r"[\n,]", env.get("lib_deps")) if d.strip()]:
        m = re.match(r"(?:([\w.-]+)\s*=\s*)?(?:symlink|file)://(.+)$", dep)
        if not m:
            raise BoardsError(f"[env:{env.name}] lib_deps {dep!r}: only local libraries (symlink://) build offline")
        root = (env.project / m.group(2)).resolve()
        manifest = json.loads((root / "library.json").read_text())
        build = manifest.get("build", {})
        src_dir = root / build.get("srcDir", "src")
        spec = build.get("srcFilter", "+<*>")
        if isinstance(spec, list):
            spec = " ".join(spec)
        lib_flags = build.get("flags", [])
        if isinstance(lib_flags, str):
            lib_flags = shlex.split(lib_flags)
        out.append(Library(manifest["name"], root, _src_filter(src_dir, spec),
                           [root / build.get("includeDir", "include"), src_dir],
                           [f if not f.startswith("-I") else "-I" + str((root / f[2:]).resolve()) for f in lib_flags]))
    return out


# ---- build -----------------------------------------------------------------------------------------
def build_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("EMC_BOARDS_BUILD", ROOT / "build" / "boards"))


def _stale(obj: pathlib.Path, src: pathlib.Path, cmd: list) -> bool:
    dep, stamp = obj.with_suffix(".d"), obj.with_suffix(".cmd")
    if not obj.exists() or not dep.exists() or not stamp.exists() or stamp.read_text() != " ".join(cmd):
        return True
    t = obj.stat().st_mtime
    deps = dep.read_text().replace("\\\n", " ").split(":", 1)[-1].split()
    return any(not pathlib.Path(d).exists() or pathlib.Path(d).stat().st_mtime > t for d in deps)


def _compile(job):
    """Compile one file when stale. Returns (error text or None); warnings are kept in <obj>.warn."""
    cmd, obj, src = job
    if not _stale(obj, src, cmd):
        return None
    obj.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(cmd + ["-MMD", "-MF", str(obj.with_suffix(".d")), "-c", str(src), "-o", str(obj)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"{src}:\n{r.stderr[-3000:]}"
    obj.with_suffix(".warn").write_text(r.stderr)
    obj.with_suffix(".cmd").write_text(" ".join(cmd))
    return None


def _warnings(jobs) -> dict:
    """{source: number of compiler warnings} of the files that had any (from the last compile)."""
    out = {}
    for _cmd, obj, src in jobs:
        w = obj.with_suffix(".warn")
        n = w.read_text().count("warning:") if w.exists() else 0
        if n:
            out[str(src)] = n
    return out


def _memory_regions(ld: pathlib.Path, search: list) -> dict:
    """{region: length} from the MEMORY blocks of a linker script and the scripts it INCLUDEs."""
    text = ld.read_text()
    for inc in re.findall(r"^\s*INCLUDE\s+(\S+)", text, re.M):
        for d in [ld.parent] + search:
            if (d / inc).is_file():
                text += (d / inc).read_text()
                break
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for block in re.findall(r"MEMORY\s*\{(.*?)\}", text, re.S):
        for name, length in re.findall(r"(\w+)\s*(?:\([^)]*\))?\s*:\s*ORIGIN\s*=\s*[^,]+,\s*LENGTH\s*=\s*([^\n]+)", block):
            out[name] = _ld_number(length)
    return out


def _ld_number(expr: str) -> int:
    expr = expr.strip().rstrip(";")
    expr = re.sub(r"(\d+)\s*K\b", r"(\1*1024)", expr)
    expr = re.sub(r"(\d+)\s*M\b", r"(\1*1048576)", expr)
    if not re.fullmatch(r"[0-9xXa-fA-F()*+ \t-]+", expr):
        raise BoardsError(f"cannot evaluate linker length {expr!r}")
    return int(eval(expr, {"__builtins__": {}}))


def limits(env: Env, ldscript: pathlib.Path, search: list) -> tuple:
    """(flash_limit, ram_limit): board_upload.maximum_size / maximum_ram_size from platformio.ini when
    set (what PlatformIO's memory report divides by), else the linker script's regions."""
    regions = {k.lower(): v for k, v in _memory_regions(ldscript, search).items()}
    flash = env.get("board_upload.maximum_size") or regions.get("flash", 0)
    ram = env.get("board_upload.maximum_ram_size") or sum(v for k, v in regions.items() if k != "flash")
    return int(flash), int(ram)


def build_env(env: Env, vendor: pathlib.Path, jobs: int = 2) -> dict:
    plat = PLATFORMS.get(env.platform)
    if plat is None:
        raise BoardsError(f"[env:{env.name}] platform {env.platform!r} is not a real-board platform")
    cc = shutil.which(plat.compiler)
    if cc is None:
        raise BoardsError(f"{plat.compiler} not found (apt-get install gcc-arm-none-eabi / gcc-riscv64-unknown-elf)")
    fw = plat.framework(env, vendor)
    user = _split_build_flags(env, env.flags("build_flags"))
    unflags = set(env.flags("build_unflags"))
    float_abi = env.flags("custom_float_abi_flags")     # the extra_script adds them to compile AND link
    base_c = [f for f in plat.base_cflags if f not in unflags]
    libs = _libraries(env)
    src_dir = (env.project / _project_option(env.project, "src_dir", "src")).resolve()
    inc_dir = (env.project / _project_option(env.project, "include_dir", "include")).resolve()
    # PlatformIO puts the project's include_dir and src_dir on every compile's include path
    includes = user["includes"] + [inc_dir, src_dir] + [i for lib in libs for i in lib.includes] + fw["includes"]
    common = [cc] + fw["cpu"] + float_abi + base_c + user["cflags"] + fw["defines"] + user["defines"] + \
        ["-I" + str(i) for i in includes]

    out = build_root() / env.name
    jobs_list = []

    def add(group, src, extra=()):
        try:
            rel = src.resolve().relative_to(ROOT)
        except ValueError:
            rel = pathlib.Path(src.name)
        obj = out / "obj" / group / rel.with_suffix(".o")
        cmd = common + list(extra)
        if src.suffix in (".S", ".s"):
            cmd = cmd + ["-x", "assembler-with-cpp"]
        jobs_list.append((cmd, obj, src))

    model = env.get("custom_emc_model")
    if model:               # what firmware_common/pio/emc_model_data.py does in PlatformIO
        from emc.export_c import export

        gen = out / "emc_model"
        gen.mkdir(parents=True, exist_ok=True)
        src_model = (env.project / model).resolve()
        c_file = gen / "model_data.c"
        if not c_file.exists() or c_file.stat().st_mtime < src_model.stat().st_mtime:
            export(src_model, c_file)
        common.append("-I" + str(gen))
        add("model", c_file)
    for s in _src_filter(src_dir, env.get("build_src_filter", "+<*>")):
        add("src", s)
    for lib in libs:
        for s in lib.sources:
            add("lib-" + lib.name, s, lib.flags)
    for group, s in fw["sources"]:
        add(group, s)
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        errors = [e for e in ex.map(_compile, jobs_list) if e]
    if errors:
        raise BoardsError(f"[env:{env.name}] compile failed:\n" + "\n".join(errors[:3]))

    ld_opt = env.get("board_build.ldscript")
    ldscript = (env.project / ld_opt).resolve() if ld_opt else fw["ldscript"]
    if ldscript is None or not ldscript.is_file():
        raise BoardsError(f"[env:{env.name}]: linker script {ldscript} not found")
    ld_search = [pathlib.Path(f[2:]) if not f.startswith("-Wl,-L") else pathlib.Path(f[6:])
                 for f in user["linkflags"] if f.startswith(("-L", "-Wl,-L"))]
    elf = out / "firmware.elf"
    link = [cc] + fw["cpu"] + float_abi + [f for f in plat.base_linkflags if f not in unflags] + \
        user["linkflags"] + ["-T" + str(ldscript), "-Wl,-Map=" + str(out / "firmware.map"), "-o", str(elf)] + \
        [str(j[1]) for j in jobs_list] + list(plat.libc)
    r = subprocess.run(link, capture_output=True, text=True)
    if r.returncode != 0:
        raise BoardsError(f"[env:{env.name}] link failed:\n{r.stderr[-3000:]}")
    flash_limit, ram_limit = limits(env, ldscript, ld_search)
    return dict(env=env.name, elf=str(elf), **image_sizes(elf), flash_limit=flash_limit, ram_limit=ram_limit,
                platform=env.platform, board=env.get("board"), warnings=_warnings(jobs_list))


def _project_option(project: pathlib.Path, key: str, default: str) -> str:
    cp = _read_ini(project / "platformio.ini")
    return cp.get("platformio", key, fallback=default)


def image_sizes(elf: pathlib.Path) -> dict:
    """flash_bytes: what the image occupies in non-volatile memory (code, constants, initial data);
    ram_bytes: every allocated writable section (data, bss, .hilbufs, stack/heap reserves)."""
    from emc.hil.firmware import SHF_ALLOC, SHF_WRITE, SHT_NOBITS, _sections

    _, secs = _sections(elf.read_bytes())
    flash = ram = 0
    for s in secs:
        if not s["flags"] & SHF_ALLOC or s["size"] == 0:
            continue
        if s["flags"] & SHF_WRITE:
            ram += s["size"]
            if s["type"] != SHT_NOBITS:
                flash += s["size"]       # initial values of .data are stored in flash
        else:
            flash += s["size"]
    return dict(flash_bytes=flash, ram_bytes=ram)


def fits(row: dict, env: Env) -> str | None:
    """None when the image fits its chip, else a one-line reason. K210: code and data share the
    6 MiB SRAM (the image is copied from SPI flash at boot), so flash + RAM must fit the RAM."""
    if row["flash_bytes"] > row["flash_limit"]:
        return f"{row['env']}: flash {row['flash_bytes']} bytes > limit {row['flash_limit']}"
    ram = row["ram_bytes"] + (row["flash_bytes"] if env.platform == "kendryte210" else 0)
    if ram > row["ram_limit"]:
        return f"{row['env']}: RAM {ram} bytes > limit {row['ram_limit']}"
    return None


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m emc.boards", description=__doc__.splitlines()[0])
    ap.add_argument("--vendor", type=pathlib.Path, help="vendor code (see docs/boards.md); without it: skip")
    ap.add_argument("--json", type=pathlib.Path, help="write the size rows here")
    ap.add_argument("--env", action="append", help="only these envs (default: every real-board env)")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    if a.vendor is None:
        print("boards: skipped: no --vendor DIR given (STM32Cube HAL/CMSIS and the Kendryte standalone "
              "SDK are not part of this project; see docs/boards.md)")
        return EXIT_OK
    if not a.vendor.is_dir():
        print(f"boards: {a.vendor}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    envs = real_board_envs()
    names = a.env or list(envs)
    unknown = [n for n in names if n not in envs]
    if unknown:
        print(f"boards: unknown env {', '.join(unknown)}; known: {', '.join(envs)}", file=sys.stderr)
        return EXIT_USAGE
    rows, failures, rc = [], [], EXIT_OK
    for n in names:
        try:
            row = build_env(envs[n], a.vendor.resolve(), a.jobs)
        except BoardsError as e:
            failures.append(str(e))
            print(f"{n}: FAILED: {e}", file=sys.stderr)
            rc = EXIT_BUILD
            continue
        reason = fits(row, envs[n])
        row["fits"] = reason is None
        rows.append(row)
        nwarn = sum(row["warnings"].values())
        print(f"{n}: flash {row['flash_bytes']}/{row['flash_limit']}, RAM {row['ram_bytes']}/{row['ram_limit']}, "
              f"{nwarn} compiler warnings" + ("" if reason is None else f"  DOES NOT FIT: {reason}"))
        if reason and rc == EXIT_OK:
            rc = EXIT_FIT
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(rows, indent=1) + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())

"""ctypes bindings to the C runtime (runtime_c/), built on demand with CMake into build/native.

    from emc.native import NativeModel
    m = NativeModel(open("x.kmodel", "rb").read())
    outs = m.run(x)                 # list of numpy arrays (uint8 / float32 / int8)
    outs, dumps = m.run(x, dump=True)   # dumps: {index: (type, array)} after every layer

The library is rebuilt when any runtime source is newer than it (cmake decides). In a source checkout the
sources are runtime_c/ and the library goes to build/native; an installed wheel carries the same sources as
emc/_runtime_c/ and builds into a per-user cache (~/.cache/emc/native-<version>) on first use.
"""
from __future__ import annotations

import ctypes as C
import os
import pathlib
import shutil
import subprocess
import threading

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
_PACKAGED = pathlib.Path(__file__).resolve().parent / "_runtime_c"   # copied there by setup.py's build_py


def _locate():
    """(runtime sources, default build dir): the checkout's runtime_c/, else the copy inside an installed wheel."""
    if (ROOT / "runtime_c" / "include" / "emc_runtime.h").is_file():
        return ROOT / "runtime_c", ROOT / "build" / "native"
    from . import __version__
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    return _PACKAGED, cache / "emc" / f"native-{__version__}"


RUNTIME, _DEFAULT_BUILD = _locate()
BUILD = pathlib.Path(os.environ.get("EMC_NATIVE_BUILD", _DEFAULT_BUILD))

STATUS = ["ok", "arg", "truncated", "version_v4", "version_v5", "version", "arch", "header", "layer_type",
          "body", "range", "arena", "no_input", "index", "size", "state", "port", "unsupported", "byte_swapped"]
DTYPES = {0: np.uint8, 1: np.dtype("<f4"), 2: np.int8, 3: np.dtype("<i4")}
ARENA_ALIGN = 16

_lock = threading.Lock()
_lib = None


class NativeError(RuntimeError):
    """A C runtime call failed: .status (name), .code, .layer, .offset."""

    def __init__(self, what, code, layer=-1, offset=-1):
        self.code = code
        self.status = STATUS[code] if 0 <= code < len(STATUS) else f"status {code}"
        self.layer, self.offset = layer, offset
        where = "" if layer < 0 else f" (layer {layer}, byte offset {offset})"
        super().__init__(f"{what}: {self.status}{where}")


class Tensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("size", C.c_size_t), ("dtype", C.c_int), ("rank", C.c_uint32),
                ("shape", C.c_uint32 * 4), ("scale", C.c_float), ("zero_point", C.c_int32)]


class Error(C.Structure):
    _fields_ = [("status", C.c_int), ("layer", C.c_int32), ("offset", C.c_int32)]


HOOK = C.CFUNCTYPE(None, C.c_void_p, C.c_uint32, C.c_uint32, C.c_void_p, C.c_size_t, C.c_int, C.c_uint32)
K210_CONV_HOOK = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p)
CYCLES_HOOK = C.CFUNCTYPE(C.c_uint32, C.c_void_p)


class Port(C.Structure):
    """emc_port_t: keep the Python callables referenced as long as the model lives."""
    _fields_ = [("ctx", C.c_void_p), ("kpu_ram", C.c_void_p), ("k210_conv", K210_CONV_HOOK),
                ("cycles", CYCLES_HOOK)]


def _sources():
    return (sorted(RUNTIME.glob("src/*.c")) + sorted(RUNTIME.glob("kernels/*/*.c"))
            + [RUNTIME / "ports" / "host" / "emc_port_host.c"])


def _build_direct(bdir, sanitize):
    """No cmake: one compiler call, rebuilt when a source or header is newer than the library."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("a C compiler (gcc or clang) is needed to build the C runtime")
    out = bdir / "libemc_runtime_host.so"
    deps = _sources() + sorted(RUNTIME.glob("**/*.h")) + sorted(RUNTIME.glob("**/*.def"))
    if out.exists() and out.stat().st_mtime >= max(p.stat().st_mtime for p in deps):
        return out
    bdir.mkdir(parents=True, exist_ok=True)
    flags = ["-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-ffp-contract=off",
             f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", f"-I{RUNTIME / 'ports' / 'host'}"]
    if sanitize:
        flags += ["-fsanitize=address,undefined", "-g"]
    subprocess.run([cc, *flags, "-o", str(out), *map(str, _sources()), "-lm"], check=True)
    return out


def build(build_dir=None, sanitize=False, quiet=True) -> pathlib.Path:
    """Configure and build the host library; returns the path of libemc_runtime_host.so.
    Uses CMake when installed, otherwise compiles the sources directly with cc. A file lock makes
    concurrent callers (pytest-xdist workers) build one at a time."""
    bdir = pathlib.Path(build_dir or BUILD)
    bdir.mkdir(parents=True, exist_ok=True)
    with open(bdir / ".build.lock", "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - non-POSIX hosts build unlocked
            pass
        return _build_locked(bdir, sanitize, quiet)


def _build_locked(bdir, sanitize, quiet):
    if shutil.which("cmake") is None:
        return _build_direct(bdir, sanitize)
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    out = subprocess.DEVNULL if quiet else None
    if not (bdir / "CMakeCache.txt").exists():
        # -Werror is for our own CI's compilers; an installed wheel meets whatever compiler the user has
        werror = "ON" if RUNTIME != _PACKAGED else "OFF"
        subprocess.run(["cmake", "-S", str(RUNTIME), "-B", str(bdir), *gen, f"-DEMC_WERROR={werror}",
                        f"-DEMC_SANITIZE={'ON' if sanitize else 'OFF'}"], check=True, stdout=out)
    subprocess.run(["cmake", "--build", str(bdir), "-j2"], check=True, stdout=out)
    return bdir / "libemc_runtime_host.so"


def lib():
    global _lib
    with _lock:
        if _lib is None:
            path = build()
            L = C.CDLL(str(path))
            L.emc_arena_required.argtypes = [C.c_void_p, C.c_size_t, C.c_void_p, C.POINTER(C.c_size_t)]
            L.emc_arena_required.restype = C.c_int
            L.emc_model_load.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p, C.c_size_t, C.c_void_p]
            L.emc_model_last_error.argtypes = [C.c_void_p]
            L.emc_model_last_error.restype = Error
            L.emc_model_input.argtypes = [C.c_void_p, C.POINTER(Tensor)]
            L.emc_model_set_input.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t]
            L.emc_model_input_count.argtypes = [C.c_void_p]
            L.emc_model_input_count.restype = C.c_uint32
            L.emc_model_input_at.argtypes = [C.c_void_p, C.c_uint32, C.POINTER(Tensor)]
            L.emc_model_set_input_at.argtypes = [C.c_void_p, C.c_uint32, C.c_void_p, C.c_size_t]
            L.emc_model_set_hook.argtypes = [C.c_void_p, HOOK, C.c_void_p]
            L.emc_model_invoke.argtypes = [C.c_void_p]
            L.emc_model_output_count.argtypes = [C.c_void_p]
            L.emc_model_output_count.restype = C.c_uint32
            L.emc_model_output.argtypes = [C.c_void_p, C.c_uint32, C.POINTER(Tensor)]
            L.emc_model_layer_count.argtypes = [C.c_void_p]
            L.emc_model_layer_count.restype = C.c_uint32
            L.emc_model_struct_size.restype = C.c_size_t
            L.emc_port_host.restype = C.c_void_p
            L.emc_status_str.restype = C.c_char_p
            L.emc_kmodel_fix_byte_order.argtypes = [C.c_void_p, C.c_size_t]
            L.emc_layer_type_supported.argtypes = [C.c_uint32]
            _lib = L
        return _lib


def arena_required(data: bytes) -> int:
    """Arena bytes the C runtime needs for this model (raises NativeError if it refuses it)."""
    L = lib()
    n = C.c_size_t()
    buf = C.create_string_buffer(bytes(data), len(data))
    L.emc_kmodel_fix_byte_order(buf, len(data))      # a byte-swapped v3: loaded like emc.kmodel does
    s = L.emc_arena_required(buf, len(data), None, C.byref(n))
    if s:
        raise NativeError("emc_arena_required", s)
    return n.value


def layer_type_supported(layer_type: int) -> bool:
    """Whether the C runtime has a kernel for this layer type (else it refuses the model)."""
    return bool(lib().emc_layer_type_supported(layer_type))


def _tensor_array(t: Tensor, copy=True):
    dt = np.dtype(DTYPES.get(t.dtype, np.uint8))
    raw = (C.c_uint8 * t.size).from_address(t.data) if t.size else (C.c_uint8 * 0)()
    a = np.frombuffer(raw, np.uint8).view(dt)
    shape = tuple(t.shape[:t.rank])
    if shape and int(np.prod(shape)) == a.size:
        a = a.reshape(shape)
    return a.copy() if copy else a


class NativeModel:
    """One loaded model: owns copies of the file bytes, the arena and the emc_model_t."""

    def __init__(self, data, arena_size=None, port=None):
        """port: an optional Port (emc_port_t) passed to the runtime."""
        L = lib()
        self.port = port
        port_p = C.byref(port) if port is not None else None
        if isinstance(data, (str, os.PathLike)):
            data = pathlib.Path(data).read_bytes()
        data = bytes(data)
        self.L = L
        # the model buffer is 128-byte aligned, as the SDK expects of a kmodel in memory
        self._model_raw = C.create_string_buffer(len(data) + 128)
        self._model = C.addressof(self._model_raw) + (-C.addressof(self._model_raw)) % 128
        C.memmove(self._model, data, len(data))
        self.size = len(data)
        # a byte-swapped v3 (K210 flash image) is swapped back in this private copy, as emc.kmodel does;
        # EMC_E_SIZE (not whole words) is left for the loader to refuse by name
        L.emc_kmodel_fix_byte_order(self._model, self.size)
        need = C.c_size_t()
        self._m = C.create_string_buffer(L.emc_model_struct_size())
        s = L.emc_arena_required(self._model, self.size, port_p, C.byref(need))
        if s:
            # a load attempt runs the same validation and records where the problem is
            tiny = C.create_string_buffer(2 * ARENA_ALIGN)
            tiny_p = C.addressof(tiny) + (-C.addressof(tiny)) % ARENA_ALIGN
            L.emc_model_load(self._m, self._model, self.size, tiny_p, ARENA_ALIGN, port_p)
            e = L.emc_model_last_error(self._m)
            raise NativeError("emc_model_load", s, e.layer, e.offset)
        self.arena_required = need.value
        self.arena_size = need.value if arena_size is None else arena_size
        self._arena_raw = C.create_string_buffer(self.arena_size + ARENA_ALIGN)
        arena = C.addressof(self._arena_raw) + (-C.addressof(self._arena_raw)) % ARENA_ALIGN
        s = L.emc_model_load(self._m, self._model, self.size, arena, self.arena_size, port_p)
        if s:
            e = L.emc_model_last_error(self._m)
            raise NativeError("emc_model_load", s, e.layer, e.offset)

    @property
    def input(self) -> Tensor:
        return self.input_at(0)

    @property
    def input_count(self) -> int:
        return self.L.emc_model_input_count(self._m)

    def input_at(self, index) -> Tensor:
        t = Tensor()
        self.L.emc_model_input_at(self._m, index, C.byref(t))
        return t

    @property
    def input_dtype(self):
        return np.dtype(DTYPES[self.input.dtype])

    @property
    def input_shape(self):
        t = self.input
        return tuple(t.shape[:t.rank])

    def run(self, x, dump=False):
        """Set the input (a list of one array per input for a model with several), invoke, return
        the outputs (and per-layer dumps if dump=True)."""
        L = self.L
        n = self.input_count
        if n > 1 and (not isinstance(x, (list, tuple)) or len(x) != n):
            raise ValueError(f"the model has {n} inputs: give a list of {n} arrays")
        for i, xi in enumerate(x if n > 1 else [x]):
            xi = np.ascontiguousarray(np.asarray(xi).astype(DTYPES[self.input_at(i).dtype], copy=False))
            s = L.emc_model_set_input_at(self._m, i, xi.ctypes.data, xi.nbytes)
            if s:
                raise NativeError("emc_model_set_input_at", s)
        dumps = {}

        def on_layer(user, index, ltype, out, size, dtype, cycles):
            raw = np.ctypeslib.as_array((C.c_uint8 * size).from_address(out)) if size else np.zeros(0, np.uint8)
            dumps[index] = (ltype, raw.view(DTYPES.get(dtype, np.uint8)).copy())

        cb = HOOK(on_layer) if dump else HOOK()
        L.emc_model_set_hook(self._m, cb, None)
        s = L.emc_model_invoke(self._m)
        L.emc_model_set_hook(self._m, HOOK(), None)
        if s:
            e = L.emc_model_last_error(self._m)
            raise NativeError("emc_model_invoke", s, e.layer, e.offset)
        outs = self.outputs()
        return (outs, dumps) if dump else outs

    def outputs(self):
        res = []
        for i in range(self.L.emc_model_output_count(self._m)):
            t = Tensor()
            self.L.emc_model_output(self._m, i, C.byref(t))
            res.append(_tensor_array(t).reshape(-1))
        return res


def run(data, x, dump=False):
    """One-shot: load `data` (bytes or path) and run it on x."""
    return NativeModel(data).run(x, dump=dump)

"""Runs bench cases on a device under test and turns what comes back into report Results.

A device is QEMU (started, watched and restarted here), the host build on a pty, or a real board
on a serial port. Everything that can go wrong on a wire is expected: a garbled or lost frame (CRC,
retried by the client), a stall (timeout), a device that resets (it forgets its model: reloaded),
a QEMU that crashes (restarted). Each is reported with a clear message and the case continues
from the input it was on; results gathered so far are never lost."""
from __future__ import annotations

import subprocess
import time
import zlib

import numpy as np

from . import firmware
from .cases import input_bytes
from .compare import layer_matches
from .protocol import (E_BAD_CRC, E_NO_MODEL, E_STATE, E_TIMEOUT, INVOKE, DeviceReset, HilClient, HilError,
                       HilTimeout, PortError, invoke_timeout)
from .report import Result

TRANSIENT_CODES = {E_BAD_CRC, E_TIMEOUT, E_NO_MODEL, E_STATE}
NP = {"u8": np.uint8, "i8": np.int8, "f32": np.float32, "i32": np.int32}


class DeviceLost(HilError):
    """The device could not be brought back after the allowed number of recoveries (exit 3)."""

    def __init__(self, message):
        self._link_error(message)


def transient(exc) -> bool:
    if isinstance(exc, (HilTimeout, DeviceReset, PortError)):
        return True
    if isinstance(exc, HilError):
        return exc.code in TRANSIENT_CODES
    try:
        import serial
        if isinstance(exc, serial.SerialException):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, (OSError, EOFError))


def stuck(exc) -> bool:
    """A fault that repeating the same operation is unlikely to cure: the device reset or faulted
    during it, or never answered INVOKE. It gets one reload, not the full recovery budget."""
    return isinstance(exc, DeviceReset) or (isinstance(exc, HilTimeout) and exc.cmd == INVOKE)


class Dut:
    """Base device under test: subclasses know how to (re)start one and open its client."""
    name = "?"

    def __init__(self, log=print, timeout=10.0):
        self.log = log
        self.timeout = timeout
        self.client: HilClient | None = None
        self.recoveries = 0
        self.generation = 0          # bumped at every (re)start: the device forgot its model
        self.sizes: dict = {}
        self.link_totals: dict = {}  # link statistics of the clients already closed

    def _drop_client(self):
        """Forget the client, keeping its link statistics."""
        if self.client is not None:
            self.client._sync_stats()
            for k, v in self.client.stats.items():
                self.link_totals[k] = self.link_totals.get(k, 0) + v
            self.client.close()
            self.client = None

    def link_stats(self) -> dict:
        """Link trouble so far over every client of this device (CRC errors, retries, resets...)."""
        total = dict(self.link_totals)
        if self.client is not None:
            self.client._sync_stats()
            for k, v in self.client.stats.items():
                total[k] = total.get(k, 0) + v
        return {k: v for k, v in total.items() if v}

    def connect(self) -> HilClient:
        raise NotImplementedError

    def recover(self, why: str) -> HilClient:
        self.recoveries += 1
        self.log(f"[{self.name}] {why}; recovering (recovery #{self.recoveries})")
        return self.restart()

    def restart(self) -> HilClient:
        raise NotImplementedError

    def stage(self, model: bytes, inp: bytes | None):
        """Put model (and input) into the device's buffers without the serial line if the device
        can (QEMU's loader). Returns (model_preloaded, input_preloaded)."""
        return False, False

    def close(self):
        self._drop_client()


class QemuDut(Dut):
    """A firmware under QEMU: qemu-m4, qemu-m7 or qemu-rv64."""

    def __init__(self, target, *, plugin=None, serial="tcp", kernels=None, **kw):
        super().__init__(**kw)
        from .qemu import Qemu
        self.name = target
        self.kernels = firmware.kernels_kind(target, kernels)
        self.elf = firmware.build(target, kernels=kernels)
        self.sizes = firmware.elf_sizes(self.elf)
        self.qemu = Qemu(target, self.elf, plugin=plugin, serial=serial)

    def connect(self):
        if self.client is None or not self.qemu.alive:
            if not self.qemu.alive and self.qemu.starts and self.client is not None:
                self.log(f"[{self.name}] QEMU exited with code {self.qemu.returncode}: restarting it")
            if self.client is not None:
                self._drop_client()
            self.generation += 1
            self.client = self.qemu.client(timeout=self.timeout, log=self.log)
        return self.client

    def restart(self):
        self._drop_client()
        self.qemu.stop()
        return self.connect()

    # Host->guest UART under QEMU moves ~12 KB/s; restarting QEMU with the bytes preloaded by
    # its loader device takes ~0.1 s. Models always go that way, inputs above this size too.
    PRELOAD_INPUT_ABOVE = 8192

    def stage(self, model, inp):
        want_inp = inp if inp is not None and len(inp) > self.PRELOAD_INPUT_ABOVE else None
        if self.qemu.preload_model != model or (want_inp is not None and self.qemu.preload_input != want_inp):
            self.qemu.preload_model = model
            self.qemu.preload_input = want_inp
            self.restart()
        return True, want_inp is not None and self.qemu.preload_input == want_inp

    @property
    def icount(self) -> bool:
        return self.qemu.icount

    def close(self):
        self._drop_client()
        self.qemu.close()


class SerialDut(Dut):
    """A board (or anything else) on a serial port / pyserial URL."""

    def __init__(self, port, *, name=None, baudrate=115200, reset_cmd=None, **kw):
        super().__init__(**kw)
        self.port, self.baudrate, self.reset_cmd = port, baudrate, reset_cmd
        self.name = name or port

    def connect(self):
        if self.client is None:
            self.generation += 1
            self.client = HilClient.open(self.port, baudrate=self.baudrate, timeout=self.timeout, log=self.log)
            self.client.sync(timeout=max(10.0, self.timeout))
        return self.client

    def restart(self):
        if self.client is not None:
            try:                          # ask the firmware itself first
                self.client.reset(hard=True)
            except Exception:
                pass
            self.close()
        if self.reset_cmd:                # e.g. a PlatformIO upload / st-flash reset
            subprocess.run(self.reset_cmd, shell=True, check=False, capture_output=True, timeout=120)
        time.sleep(0.2)
        return self.connect()


class Session:
    """Runs operations on a Dut, recovering from faults: every operation is retried from a
    known state (model reloaded after a reset) up to `retries` recoveries. A device that resets or
    faults during an operation, or never answers INVOKE, gets one reload, then the operation fails
    naming the reason (it would only fail the same way again, slowly)."""

    def __init__(self, dut: Dut, retries: int = 3, log=print, invoke_timeout: float | None = None):
        """invoke_timeout: seconds for INVOKE; None derives it per model from its MACs
        (emc.hil.protocol.invoke_timeout)."""
        self.dut, self.retries, self.log = dut, retries, log
        self.fixed_invoke_timeout = invoke_timeout
        self.invoke_timeout = invoke_timeout
        self.model: bytes | None = None
        self.load_result = None
        self.generation = -1
        self.events: list[str] = []

    def set_model_macs(self, macs: int | None):
        """Derive the INVOKE timeout from the model about to run (unless one was given)."""
        if self.fixed_invoke_timeout is None:
            self.invoke_timeout = invoke_timeout(macs)

    def _ensure_model(self, dev: HilClient, model: bytes, preloaded: bool):
        info = dev.hello()
        crc = zlib.crc32(model) & 0xFFFFFFFF
        if not (info.model_loaded and info.model_size == len(model) and info.model_crc == crc) \
                or self.load_result is None or self.model != model or self.generation != self.dut.generation:
            self.load_result = dev.load(model, reuse=False, preloaded=preloaded)
            self.model = model

    def do(self, what: str, fn, model: bytes | None = None, inp: bytes | None = None):
        """fn(client, input_preloaded) with recovery. `model` is (re)loaded first when the device
        lost it; `inp` may be staged into the device's input buffer without the serial line."""
        stuck_once = False
        for attempt in range(self.retries + 1):
            try:
                pre_model, pre_inp = self.dut.stage(model, inp) if model is not None else (False, False)
                dev = self.dut.connect()
                dev.invoke_timeout = self.invoke_timeout
                if model is not None and (self.model != model or self.load_result is None
                                          or self.generation != self.dut.generation or dev.model is None):
                    self._ensure_model(dev, model, pre_model)
                    self.generation = self.dut.generation
                return fn(dev, pre_inp)
            except Exception as e:            # noqa: BLE001 - classified below
                if transient(e) and stuck(e):
                    if stuck_once:
                        raise DeviceLost(f"{self.dut.name}: {what} failed again after a reload: {e}") from e
                    stuck_once = True
                elif not transient(e) or attempt == self.retries:
                    if transient(e):
                        raise DeviceLost(f"{self.dut.name}: gave up on {what} after {attempt} recoveries: {e}") from e
                    raise
                msg = f"{what}: {type(e).__name__}: {e}"
                self.events.append(msg)
                self.model = None             # the device may have lost it: reload next time
                self.load_result = None
                self.dut.recover(msg)


def _as_float(b: bytes, dtype: str):
    return np.frombuffer(b, NP.get(dtype, np.uint8)).astype(np.float64)


def compare_outputs(dev_outs, dtypes, floats):
    """max |device - float|, cosine, top-1 agreement (per input) against float/TFLite outputs."""
    errs, cos, top = [], [], []
    for d, f in zip(dev_outs, floats):
        for b, dt, fv in zip(d, dtypes, f):
            a = _as_float(b, dt)
            fv = np.asarray(fv, np.float64).reshape(-1)
            if a.size != fv.size:
                continue
            errs.append(a - fv)
            den = np.linalg.norm(a) * np.linalg.norm(fv)
            cos.append(float(a @ fv / den) if den else 1.0)
            if a.size > 1:
                top.append(int(np.argmax(a)) == int(np.argmax(fv)))
    if not errs:
        return None, None, None, []
    e = np.concatenate(errs)
    return float(np.abs(e).max()), float(np.mean(cos)), (float(np.mean(top)) if top else None), e


def first_divergence(sess: Session, case, x):
    """Per-layer CRCs from the device vs the host C runtime's per-layer tensors (the same bytes
    the device's layer hook sees); then the first differing element of the first bad layer."""
    from .. import native
    _, dumps = native.NativeModel(case.kmodel).run(x, dump=True)

    def traced(dev, pre):
        hw = "hw_kpu" in dev.hello().flags
        dev.set_input(input_bytes(x), preloaded=pre)
        dev.invoke(len(input_bytes(x)), trace_crc=True)
        return hw, dev.get_trace()

    hw_kpu, trace = sess.do("trace", traced, case.kmodel, input_bytes(x))
    matches = layer_matches(trace, {i: a.tobytes() for i, (_, a) in dumps.items()}, hw_kpu)
    per_layer = [[rec.index, str(rec.type), 0.0 if same else float("nan")]
                 for rec, same in zip(trace, matches) if same is not None]
    bad = next((rec.index for rec, same in zip(trace, matches) if same is False), None)
    if bad is None:
        return "every layer's tensor matches the PC; only the output bytes differ", per_layer

    def capture(dev, pre):
        dev.set_input(input_bytes(x), preloaded=pre)
        dev.invoke(len(input_bytes(x)), capture_layer=bad)
        return dev.get_layer()

    cap = sess.do(f"capture layer {bad}", capture, case.kmodel, input_bytes(x))
    ltype, pc = dumps[bad]
    got = np.frombuffer(cap.data, pc.dtype) if len(cap.data) == pc.nbytes else np.frombuffer(cap.data, np.uint8)
    want = pc.reshape(-1) if got.dtype == pc.dtype else pc.reshape(-1).view(np.uint8)
    n = min(got.size, want.size)
    diff = np.nonzero(got[:n] != want[:n])[0]
    for row in per_layer:
        if row[0] == bad:
            row[2] = float(np.abs(got[:n].astype(np.float64) - want[:n].astype(np.float64)).max()) if n else float("nan")
    if diff.size == 0:
        return f"layer {bad} (type {ltype}): sizes differ ({got.size} vs {want.size})", per_layer
    j = int(diff[0])
    return (f"layer {bad} (type {ltype}) element {j}: device {got[j]} vs PC {want[j]} "
            f"({diff.size} of {n} elements differ)"), per_layer


def check_case(sess: Session, case, *, diverge=True, layer_check_macs=200_000_000) -> Result:
    """Run every input of `case` on the device; compare with the PC side; measure.

    Never raises for what a device or a link can do: a failure stops the case and is recorded in
    the Result (status "fail" for a wrong answer, "error" when the device could not be used),
    with the link statistics, so that nothing seen is lost from the report.

    Models up to `layer_check_macs` also get every layer's output checked on the first input (CRC
    of each layer tensor from the device vs the host C runtime), for the per-layer plot."""
    dut = sess.dut
    r = Result(case.name, dut.name, macs=case.macs, model_bytes=len(case.kmodel),
               flash_bytes=dut.sizes.get("flash"), ram_bytes=dut.sizes.get("ram"))
    sess.set_model_macs(case.macs)
    link0 = dut.link_stats()
    try:
        _run_inputs(sess, case, r, diverge, layer_check_macs)
    except Exception as e:      # noqa: BLE001 - recorded in the report, not lost
        from ..errors import EXIT_MISMATCH, exit_code_for, one_line
        r.error = f"input {r.inputs}: {type(e).__name__}: {one_line(e)}"
        r.status = "fail" if exit_code_for(e) == EXIT_MISMATCH else "error"
        r.notes.append(r.error)
        sess.log(f"[{dut.name}] {case.name}: {r.error}")
    link = dut.link_stats()
    r.link = {k: v - link0.get(k, 0) for k, v in link.items() if v - link0.get(k, 0)}
    if r.link:
        r.notes.append("link: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in r.link.items()))
    for ev in sess.events:
        r.notes.append(f"recovered from: {ev}")
    sess.events.clear()
    if r.error is None:
        r.status = "pass" if r.bit_exact == r.inputs == len(case.inputs) else "fail"
    return r


def _run_inputs(sess: Session, case, r: Result, diverge, layer_check_macs):
    dut = sess.dut
    outs_all, counts = [], []
    lr = None
    for i, x in enumerate(case.inputs):
        x = [np.ascontiguousarray(a) for a in x] if isinstance(x, (list, tuple)) else np.ascontiguousarray(x)

        def one(dev, pre):
            res, outs = dev.run(input_bytes(x), preloaded_input=pre)
            if res.status != 0:
                raise HilError(7, f"invoke returned runtime status {res.status}")
            return res, outs

        res, outs = sess.do(f"{case.name} input {i}", one, case.kmodel, input_bytes(x))
        lr = sess.load_result or lr
        r.inputs += 1
        counts.append(res.count)
        # under QEMU -icount shift=0 one guest instruction is one virtual ns
        icount = getattr(dut, "icount", False) and res.counter == "virtual_ns"
        r.counter = "instructions" if icount else res.counter
        outs_all.append(outs)
        exp = [np.ascontiguousarray(e).tobytes() for e in case.expected[i]]
        if outs == exp:
            r.bit_exact += 1
        else:
            dtypes = [d for _, d in lr.outputs] if lr else ["u8"] * len(outs)
            diffs = [np.abs(_as_float(o, d) - _as_float(e, d)).max() for o, e, d in zip(outs, exp, dtypes)
                     if len(o) == len(e)]
            r.max_abs_vs_ref = max([r.max_abs_vs_ref] + [float(v) for v in diffs])
            if len(outs) != len(exp):
                r.notes.append(f"input {i}: {len(outs)} outputs from the device, {len(exp)} expected")
            if diverge and r.first_divergence is None:
                try:
                    r.first_divergence, r.per_layer_max_abs = first_divergence(sess, case, x)
                except Exception as e:      # noqa: BLE001 - the report says why instead
                    r.notes.append(f"could not locate the divergence: {e}")
        if counts:
            r.count_per_inference = int(np.median(counts))
    if lr is not None:
        r.arena_bytes = lr.arena_required
        dtypes = [d for _, d in lr.outputs]
        if case.floats:
            r.max_abs_vs_float, r.cosine_vs_float, r.top1_agree, errs = compare_outputs(outs_all, dtypes, case.floats)
            r.errors_vs_float = list(np.asarray(errs, np.float64)[:20000])
    if diverge and not r.per_layer_max_abs and case.inputs and (case.macs or 0) <= layer_check_macs:
        try:
            _, r.per_layer_max_abs = first_divergence(sess, case, case.inputs[0])
        except Exception as e:          # noqa: BLE001 - the report says why instead
            r.notes.append(f"per-layer check not available: {e}")
    if r.bit_exact == r.inputs:
        checked = len(r.per_layer_max_abs)
        r.notes.append(f"{case.name}: all {r.inputs} inputs byte-identical to the PC reference"
                       + (f"; every layer's output identical on input 0 ({checked} layers)" if checked else ""))


def describe(dev: HilClient) -> dict:
    info = dev.hello()
    return {"target": info.target, "firmware": info.fw_version, "runtime": info.runtime_version,
            "counter": info.counter, "flags": ",".join(info.flags), "arena": info.arena_size}


__all__ = ["DeviceLost", "Dut", "QemuDut", "SerialDut", "Session", "check_case", "first_divergence"]

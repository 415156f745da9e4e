"""A misbehaving serial link, as a separate process, for testing the bench's fault handling.

    python -m emc.hil.faultlink --device /dev/pts/7 --plan corrupt:5,stall:9:3.0,reset:14,garbage:20
    python -m emc.hil.faultlink --device /dev/pts/7 --plan drop:INVOKE*,hugeoutput:GET_OUTPUT --rate 1200

It opens the real device (a pty, a pyserial URL or a board), listens on a loopback TCP port (printed
as `FAULTLINK socket://127.0.0.1:PORT`) and forwards bytes both ways. Device->host frames are
counted; on the frame numbers in the plan it misbehaves:
  corrupt:N       flip one payload byte of reply N (the host sees a CRC error)
  drop:N          swallow reply N entirely (the host times out)
  stall:N:SEC     hold reply N for SEC seconds (a stalled device)
  reset:N         hard-reset the device instead of delivering reply N (it forgets its model and
                  prints its boot banner)
  garbage:N       send random bytes before reply N
  cut:N           drop the host connection at reply N (a cable pulled; a new host connection
                  is accepted and forwarding resumes)
  nooutputs:N     rewrite INVOKE reply N to claim 0 outputs (valid CRC: a device that lies)
  hugeoutput:N    rewrite GET_OUTPUT reply N to claim an output of 0xFFFFFFF0 bytes
N is a reply number, or a command name (INVOKE, GET_OUTPUT, LOAD_COMMIT, ...): the first reply to
that command; `CMD*`: every reply to it. --rate B paces both directions to B bytes/s (a slow line:
9600 baud is 960 B/s). Every fault is logged on stdout (`FAULT ...`), so a test can check that each
one happened.
"""
from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import threading
import time

from .protocol import CMD_NAMES, REPLY, RESET, FrameParser, encode_frame

KINDS = ("corrupt", "drop", "stall", "reset", "garbage", "cut", "nooutputs", "hugeoutput")
CMD_CODES = {name: code for code, name in CMD_NAMES.items()}


def parse_plan(text):
    """{reply number or (cmd, every): (kind, arg)}."""
    plan = {}
    for item in filter(None, (text or "").split(",")):
        parts = item.split(":")
        kind, where = parts[0], parts[1] if len(parts) > 1 else ""
        arg = float(parts[2]) if len(parts) > 2 else None
        if kind not in KINDS:
            raise SystemExit(f"faultlink: unknown fault {kind!r} (known: {', '.join(KINDS)})")
        if where.isdigit():
            plan[int(where)] = (kind, arg)
        elif where.rstrip("*") in CMD_CODES:
            plan[(CMD_CODES[where.rstrip("*")], where.endswith("*"))] = (kind, arg)
        else:
            raise SystemExit(f"faultlink: {item!r}: give a reply number or a command name")
    return plan


def _rewrite(cmd, payload, kind):
    """A reply that lies, with a valid CRC: INVOKE with 0 outputs, GET_OUTPUT with a huge size."""
    b = bytearray(payload)
    if kind == "nooutputs" and len(b) >= 20:
        struct.pack_into("<I", b, 16, 0)          # status, counter_kind, u64 count, n_outputs
    elif kind == "hugeoutput" and len(b) >= 4:
        struct.pack_into("<I", b, 0, 0xFFFFFFF0)  # total_size
    return bytes(b)


class Link:
    def __init__(self, device, plan, log=print, rate=None):
        import serial
        self.dev = serial.serial_for_url(device, baudrate=115200, timeout=0.02)
        self.plan = plan
        self.log = log
        self.rate = rate
        self.host = None
        self.frames = 0
        self.lock = threading.Lock()
        self.parser = FrameParser()
        self.skipped = []
        self.parser.sink = self.skipped.append

    def _paced(self, data, write):
        """Write data at self.rate bytes/s (all at once without a rate)."""
        if not self.rate:
            write(data)
            return
        step = max(1, int(self.rate / 50))
        for i in range(0, len(data), step):
            write(data[i:i + step])
            time.sleep(len(data[i:i + step]) / self.rate)

    def to_host(self, data):
        if self.host is not None:
            try:
                self._paced(data, self.host.sendall)
            except OSError:
                pass

    def _fault_for(self, cmd):
        """The planned fault for the reply just counted: by number, else by command."""
        if self.frames in self.plan:
            return self.plan[self.frames]
        req = cmd & ~REPLY
        for every in (True, False):
            fault = self.plan.get((req, every))
            if fault is not None:
                if not every:
                    del self.plan[(req, every)]
                return fault
        return None, None

    def device_reader(self):
        """Device -> host, frame by frame, applying the plan. Bytes that are not frames (the boot
        banner, fault text) are forwarded as they are."""
        import serial
        while True:
            try:
                data = self.dev.read(4096)
            except (serial.SerialException, OSError):
                self.log("DEVICE gone: closing the link")
                os._exit(0)
            if not data:
                continue
            self.parser.feed(data)
            for cmd, seq, payload in self.parser.frames():
                self._forward_noise()
                self.frames += 1
                frame = encode_frame(cmd, seq, payload)
                kind, arg = self._fault_for(cmd)
                if kind:
                    self.log(f"FAULT {kind} at reply {self.frames} (cmd 0x{cmd:02x})")
                if kind == "corrupt":
                    b = bytearray(frame)
                    b[len(b) // 2] ^= 0x5A
                    self.to_host(bytes(b))
                elif kind == "drop":
                    pass
                elif kind == "stall":
                    time.sleep(arg or 3.0)
                    self.to_host(frame)
                elif kind == "reset":
                    self.dev.write(encode_frame(RESET, 0, b"\x01"))
                elif kind == "garbage":
                    self.to_host(os.urandom(64) + frame)
                elif kind == "cut":
                    h, self.host = self.host, None
                    if h is not None:
                        h.shutdown(socket.SHUT_RDWR)     # wakes the forwarding thread, sends FIN
                        h.close()
                elif kind in ("nooutputs", "hugeoutput"):
                    self.to_host(encode_frame(cmd, seq, _rewrite(cmd, payload, kind)))
                else:
                    self.to_host(frame)
            self._forward_noise()

    def _forward_noise(self):
        """The bytes that were not frames (boot banner, fault text, a garbled frame): passed on."""
        if self.skipped:
            data = b"".join(self.skipped)
            self.skipped.clear()          # the parser's sink appends to this very list
            self.to_host(data)

    def serve(self, port=0):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(1)
        print(f"FAULTLINK socket://127.0.0.1:{srv.getsockname()[1]}", flush=True)
        threading.Thread(target=self.device_reader, daemon=True).start()
        while True:
            conn, _ = srv.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.host = conn
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                self._paced(data, self.dev.write)
            if self.host is conn:
                self.host = None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emc.hil.faultlink", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", required=True, help="pty path, pyserial URL or serial port of the real device")
    ap.add_argument("--plan", default="", help="faults, e.g. corrupt:5,stall:9:3,reset:14")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rate", type=float, default=None, help="pace both directions to this many bytes/s")
    a = ap.parse_args(argv)
    Link(a.device, parse_plan(a.plan), log=lambda m: print(m, flush=True), rate=a.rate).serve(a.port)


if __name__ == "__main__":
    sys.exit(main())

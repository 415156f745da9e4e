"""A misbehaving serial link, as a separate process, for testing the bench's fault handling.

    python -m emc.hil.faultlink --device /dev/pts/7 --plan corrupt:5,stall:9:3.0,reset:14,garbage:20

It opens the real device (a pty, a pyserial URL or a board), listens on a loopback TCP port (printed
as `FAULTLINK socket://127.0.0.1:PORT`) and forwards bytes both ways. Device->host frames are
counted; on the frame numbers in the plan it misbehaves:
  corrupt:N       flip one payload byte of reply N (the host sees a CRC error)
  drop:N          swallow reply N entirely (the host times out)
  stall:N:SEC     hold reply N for SEC seconds (a stalled device)
  reset:N         hard-reset the device instead of delivering reply N (it forgets its model)
  garbage:N       send random bytes before reply N
  cut:N           drop the host connection at reply N (a cable pulled; a new host connection
                  is accepted and forwarding resumes)
Every fault is logged on stdout (`FAULT ...`), so a test can check that each one happened.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

from .protocol import RESET, FrameParser, encode_frame


def parse_plan(text):
    plan = {}
    for item in filter(None, (text or "").split(",")):
        parts = item.split(":")
        kind, n = parts[0], int(parts[1])
        arg = float(parts[2]) if len(parts) > 2 else None
        if kind not in ("corrupt", "drop", "stall", "reset", "garbage", "cut"):
            raise SystemExit(f"faultlink: unknown fault {kind!r}")
        plan[n] = (kind, arg)
    return plan


class Link:
    def __init__(self, device, plan, log=print):
        import serial
        self.dev = serial.serial_for_url(device, baudrate=115200, timeout=0.02)
        self.plan = plan
        self.log = log
        self.host = None
        self.frames = 0
        self.lock = threading.Lock()
        self.parser = FrameParser()

    def to_host(self, data):
        if self.host is not None:
            try:
                self.host.sendall(data)
            except OSError:
                pass

    def device_reader(self):
        """Device -> host, frame by frame, applying the plan."""
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
                self.frames += 1
                frame = encode_frame(cmd, seq, payload)
                kind, arg = self.plan.get(self.frames, (None, None))
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
                else:
                    self.to_host(frame)

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
                self.dev.write(data)
            if self.host is conn:
                self.host = None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emc.hil.faultlink", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", required=True, help="pty path, pyserial URL or serial port of the real device")
    ap.add_argument("--plan", default="", help="faults, e.g. corrupt:5,stall:9:3,reset:14")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args(argv)
    Link(a.device, parse_plan(a.plan), log=lambda m: print(m, flush=True)).serve(a.port)


if __name__ == "__main__":
    sys.exit(main())

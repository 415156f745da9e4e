"""The host build of the HIL firmware on a pty, reached through emc.hil.faultlink (a separate
process that corrupts, drops, stalls, resets, lies and paces bytes): real firmware, real serial
traffic, faults on demand."""
import re
import subprocess
import sys
import threading

from emc.hil import firmware, harness


def spawn_linked_host(plan="", rate=None, log=None):
    """Start the host firmware and a fault link in front of it. Returns (url, [procs], log): the
    link's stdout lines (FAULT ...) are appended to `log`."""
    fw = subprocess.Popen([str(firmware.build("host"))], stdout=subprocess.PIPE, text=True)
    pty = re.search(r"HIL pty (\S+)", fw.stdout.readline()).group(1)
    cmd = [sys.executable, "-m", "emc.hil.faultlink", "--device", pty, "--plan", plan]
    if rate:
        cmd += ["--rate", str(rate)]
    link = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    url = re.search(r"FAULTLINK (\S+)", link.stdout.readline()).group(1)
    log = [] if log is None else log
    threading.Thread(target=lambda: [log.append(line.strip()) for line in link.stdout], daemon=True).start()
    return url, [fw, link], log


def kill(procs):
    for p in procs:
        p.kill()
        p.wait()


class LinkedHostDut(harness.SerialDut):
    """The host firmware behind a fault link; restart = restart both processes. The plan applies
    to the first link only unless keep_plan (a device that misbehaves the same way every time)."""

    def __init__(self, plan, keep_plan=False, rate=None, **kw):
        self.plan, self.keep_plan, self.rate = plan, keep_plan, rate
        self.procs = []
        self.fault_log = []
        super().__init__("socket://127.0.0.1:1", name="host+faultlink", **kw)
        self._spawn()

    def _spawn(self):
        self.port, self.procs, _ = spawn_linked_host(self.plan, self.rate, self.fault_log)
        if not self.keep_plan:
            self.plan = ""                  # faults happen once; a restarted link is clean

    def restart(self):
        self.close()
        self._kill()
        self._spawn()
        return self.connect()

    def _kill(self):
        kill(self.procs)

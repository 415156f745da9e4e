"""A dependency-free progress bar on stderr."""
import sys
import time


class Progress:
    def __init__(self, total, label="", enabled=None, width=30, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = (getattr(self.stream, "isatty", lambda: False)()) if enabled is None else enabled
        self.width = width
        self.n = 0
        self.t0 = time.time()

    def update(self, k=1):
        self.n += k
        if self.enabled:
            f = min(self.n / self.total, 1.0)
            bar = "#" * int(f * self.width) + "-" * (self.width - int(f * self.width))
            self.stream.write(f"\r{self.label} [{bar}] {self.n}/{self.total} {time.time() - self.t0:5.1f}s")
            self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

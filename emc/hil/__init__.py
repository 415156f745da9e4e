"""Hardware-in-the-loop bench: the serial protocol client (protocol), emulator launcher (qemu) and
firmware build helper (firmware). See docs/hil_protocol.md."""

from .protocol import HilClient, HilError, HilTimeout  # noqa: F401

"""One error policy for every EMC command line (`emc`, `python -m emc.hil`): see docs/errors.md.

Exit codes:
    0   ok
    1   the run worked but a verdict failed (outputs differ, a comparison is a FAIL)
    2   bad input or usage (a malformed file, NaN in data, a wrong shape, options that do not apply)
    3   device or link failure (no port, a silent or resetting device, a broken serial link)
    4   internal error (a bug in EMC: the message says so; --debug shows the traceback)
    130 interrupted (Ctrl-C)

A failure prints ONE line on stderr, `<prog>: error: <file>, <layer/tensor>, byte offset N: what is wrong`,
and never a traceback unless `--debug` is on the command line (or EMC_DEBUG=1 is set).

The module depends on nothing else in emc, so any layer (frontends, kmodel, hil) can raise these errors,
and a command line maps its own older exception classes to exit codes through `run_cli(..., codes=)`.
"""
from __future__ import annotations

import os
import re
import sys
import traceback

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_INPUT = 2
EXIT_DEVICE = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130


class EmcError(Exception):
    """Base of the named errors. Carries where the problem is, so the one-line message names it:
    the file, the layer or tensor, the byte offset in the file, and the limit that was exceeded."""

    exit_code = EXIT_INPUT

    def __init__(self, message, *, file=None, where=None, offset=None, limit=None):
        self.message = message
        self.file = None if file is None else os.fspath(file)
        self.where = where
        self.offset = offset
        self.limit = limit
        super().__init__(self._text())

    def _text(self):
        parts = [p for p in (self.file, self.where) if p]
        if self.offset is not None:
            parts.append(f"byte offset {self.offset} (0x{self.offset:x})")
        text = (", ".join(parts) + ": " if parts else "") + self.message
        if self.limit is not None:
            text += f" (limit {self.limit})"
        return text

    def with_file(self, file):
        """The same error, naming the file (for errors raised by code that only saw bytes)."""
        self.file = os.fspath(file)
        self.args = (self._text(),)
        return self


class InputError(EmcError, ValueError):
    """A file or value given to EMC is malformed, inconsistent, out of range or unsupported (exit 2)."""


class UsageError(EmcError, ValueError):
    """The command line asks for something contradictory or impossible (exit 2)."""


class MismatchError(EmcError):
    """The run completed but the verdict is a failure: outputs differ from the reference (exit 1)."""

    exit_code = EXIT_MISMATCH


class DeviceError(EmcError):
    """The device or the link to it failed: no port, no answer, a reset, a corrupt stream (exit 3)."""

    exit_code = EXIT_DEVICE


def one_line(exc):
    """The exception's message on one line (multi-line messages are joined with '; ')."""
    text = str(exc).strip() or type(exc).__name__
    lines = (re.sub(r"^\s*(- )?", "", s).rstrip() for s in text.splitlines())   # list bullets go
    return "; ".join(s for s in lines if s).replace(":; ", ": ")


def exit_code_for(exc, codes=None):
    """The documented exit code for an exception: an EmcError's own, then `codes` (class -> code, most
    specific first), then 2 for the library's ValueError/OSError family (bad input, missing file),
    else 4 (a bug)."""
    if isinstance(exc, EmcError):
        return exc.exit_code
    for cls, code in (codes or {}).items():
        if isinstance(exc, cls):
            return code
    if isinstance(exc, (ValueError, OSError)):
        return EXIT_INPUT
    return EXIT_INTERNAL


def run_cli(main, prog, argv=None, codes=None):
    """Run `main(argv)` under the error policy and return the exit code (for sys.exit).

    `--debug` is taken out of argv (any position) and makes failures print their traceback too.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("EMC_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    try:
        rc = main(argv)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as e:                  # argparse (usage: exit 2) and explicit exits
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(f"{prog}: error: {e.code}" if not str(e.code).startswith(prog) else str(e.code), file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:                  # `emc info x | head`: not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 -- the one place that turns every failure into a line + code
        code = exit_code_for(e, codes)
        if debug:
            traceback.print_exc()
        if code == EXIT_INTERNAL:
            print(f"{prog}: internal error (a bug in EMC, please report it with the --debug output): "
                  f"{type(e).__name__}: {one_line(e)}", file=sys.stderr)
        else:
            print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        return code
    return EXIT_OK if rc is None else int(rc)

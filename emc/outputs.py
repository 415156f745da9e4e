"""Writing outputs safely: never over an input, and atomically (docs/errors.md).

`refuse_overwrite` compares real files (os.path.samefile: same device and inode, so symlinks, hard links
and `./x` vs `x` are all caught). `atomic_path` writes to a temporary file in the destination's folder
and renames it over the destination only when the writer finished: an interrupted or failed run leaves
the old file (or none), never a half-written one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

from .errors import UsageError


def _files_of(path):
    """The input itself, and for a folder (an image dataset) the files in it."""
    yield path
    if os.path.isdir(path):
        with os.scandir(path) as it:
            for entry in it:
                yield entry.path


def refuse_overwrite(output, inputs, what="output"):
    """Raise UsageError if writing `output` would replace (or write into) one of `inputs`."""
    if output is None or not os.path.lexists(output):
        return
    out = os.fspath(output)
    if os.path.isdir(out) and what != "folder":
        raise UsageError(f"{what} {out} is a folder; give a file name")
    for src in inputs:
        if src is None or isinstance(src, (bytes, bytearray)) or not isinstance(src, (str, os.PathLike)):
            continue
        src = os.fspath(src)
        if not os.path.exists(src):
            continue
        for f in _files_of(src):
            try:
                same = os.path.samefile(out, f)
            except OSError:
                continue
            if same:
                named = f if f == src else f"{f} (in {src})"
                raise UsageError(f"{what} {out} is the input {named}; refusing to overwrite it")


def _mode_for(path):
    """The old file's permissions, or what open() would give a new one (mkstemp makes 0600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path` (same suffix, so writers that add one keep it); on success
    it replaces `path` in one rename, on any failure (or Ctrl-C) it is removed and `path` is untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    suffix = os.path.splitext(base)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp" + suffix, dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, _mode_for(path))
        yield tmp
        if os.path.lexists(path) and not os.path.isfile(path):
            raise UsageError(f"{path} exists and is not a regular file; refusing to replace it", file=path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Like open(path, mode) for writing, with the atomic rename of `atomic_path`."""
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            yield f

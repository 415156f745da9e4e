"""Packaging hook (the metadata is in pyproject.toml): a wheel carries the C runtime's sources as
emc/_runtime_c/, so `emc.native` can build the host library on first use outside a checkout."""
import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

RUNTIME = pathlib.Path(__file__).resolve().parent / "runtime_c"
SUFFIXES = {".c", ".h", ".def", ".S", ".txt"}


class BuildPyWithRuntime(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return          # an editable install finds runtime_c/ in the checkout itself
        dest = pathlib.Path(self.build_lib) / "emc" / "_runtime_c"
        for src in RUNTIME.rglob("*"):
            if src.is_file() and src.suffix in SUFFIXES:
                out = dest / src.relative_to(RUNTIME)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out)


setup(cmdclass={"build_py": BuildPyWithRuntime})

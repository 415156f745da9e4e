"""The body layout of each generic layer type is stated once, in its Python module (FIELDS, TAIL);
this test holds the C kernels to it: for every generic layer class, the kernel registered under
its type id in runtime_c/src/emc_kernels.def has the same name, a fixed part of 4 * len(FIELDS)
bytes, a field enum of that length, and reads each fixed field with the accessor of its Python
type (emc_f: 'I', emc_fi or a signed g_range: 'i', emc_ff: 'f')."""
import pathlib
import re

import pytest

from emc.kmodel.layers.generic_layers import GENERIC_LAYERS

RT = pathlib.Path(__file__).resolve().parents[2] / "runtime_c"
KDIR = RT / "kernels" / "generic"


def _kernel_sources():
    """{type id: (kernel symbol, file text with its local headers, min-body expression, name)}"""
    listed = set(re.findall(r"^K\((\w+)\)", (RT / "src" / "emc_kernels.def").read_text(), re.M))
    found = {}
    for path in sorted(KDIR.glob("*.c")):
        text = path.read_text()
        for sym, tid, minb, name in re.findall(
                r"const emc_kernel_t (\w+) = \{(0x[0-9A-Fa-f]+), ([^,]+), \"(\w+)\"", text):
            headers = re.findall(r'#include "(g_\w+\.h)"', text)
            seen, todo = [], list(headers)
            while todo:              # local headers, transitively
                h = todo.pop()
                if h in seen:
                    continue
                seen.append(h)
                htext = (KDIR / h).read_text()
                todo += re.findall(r'#include "(g_\w+\.h)"', htext)
                text += "\n" + htext
            found[int(tid, 16)] = (sym, text, minb.strip(), name, sym in listed)
    return found


SOURCES = _kernel_sources()


def _enum_with(text, constant):
    """The enum (list of names) that declares `constant`; an enum that starts at another enum's
    count (`F_X = BF_N`) continues that one."""
    for body in re.findall(r"enum\s*\{([^}]*)\}", text):
        names = [n.strip() for n in body.replace("\n", " ").split(",") if n.strip()]
        if constant in names:
            m = re.fullmatch(r"(\w+) = (\w+)", names[0])
            if m:
                return _enum_with(text, m.group(2))[:-1] + [m.group(1)] + names[1:]
            return names
    raise AssertionError(f"no enum declares {constant}")


@pytest.mark.parametrize("cls", GENERIC_LAYERS, ids=lambda c: c.NAME)
def test_c_kernel_reads_the_python_body_layout(cls):
    assert cls.TYPE in SOURCES, f"no C kernel for {cls.NAME} (0x{cls.TYPE:X})"
    sym, text, minb, name, listed = SOURCES[cls.TYPE]
    assert listed, f"{sym} is not in emc_kernels.def"
    assert name == cls.NAME
    m = re.fullmatch(r"4 \* (\w+)", minb)
    assert m, minb
    enum = _enum_with(text, m.group(1))
    assert enum[-1] == m.group(1) and len(enum) - 1 == len(cls.FIELDS), \
        f"{cls.NAME}: C enum {enum} vs Python fields {[f for f, _ in cls.FIELDS]}"
    index = {n: i for i, n in enumerate(enum[:-1])}
    fmt_of = {n: cls.FIELDS[i][1] for n, i in index.items()}
    uses = {"I": r"emc_f\(b, (\w+)\)", "i": r"emc_fi\(b, (\w+)\)", "f": r"emc_ff\(b, (\w+)\)"}
    checked = 0
    for want, pattern in uses.items():
        for const in re.findall(pattern, text):
            if const in fmt_of:
                assert fmt_of[const] == want, f"{cls.NAME}: {const} read as '{want}', Python says '{fmt_of[const]}'"
                checked += 1
    for const, signed in re.findall(r"g_range\(c, (\w+), [^;]*?, (0|1)\)", text):
        if const in fmt_of:
            assert (fmt_of[const] == "i") == (signed == "1"), f"{cls.NAME}: {const} range signedness"
            checked += 1
    assert checked, f"{cls.NAME}: no field access recognised"


def test_every_generic_kernel_has_a_python_layer():
    assert set(SOURCES) == {cls.TYPE for cls in GENERIC_LAYERS}


def test_adding_an_op_lists_every_imported_operator():
    """docs/adding_an_op.md names exactly the TFLite operators the generic importer takes."""
    from emc.kmodel.layers.generic_layers import TFLITE_OPS
    text = (RT.parent / "docs" / "adding_an_op.md").read_text()
    listed = text.split("TFLite\noperators the generic profile imports:")[1].split(";")[0]
    assert set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", listed)) == set(TFLITE_OPS)

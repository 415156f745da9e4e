"""Bench reports: one record per (model, target), rendered as Markdown + PNG plots and as a
self-contained HTML page. JUnit XML comes from pytest itself (--junitxml)."""
from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import io
import json
import os

import numpy as np


@dataclasses.dataclass
class Result:
    model: str
    target: str
    inputs: int = 0
    bit_exact: int = 0                       # inputs whose device output == PC reference, byte for byte
    max_abs_vs_ref: float = 0.0              # float outputs: device vs PC reference
    max_abs_vs_float: float | None = None    # vs the float (or TFLite) model
    cosine_vs_float: float | None = None
    top1_agree: float | None = None          # fraction of inputs with the same argmax as the float model
    counter: str = ""                        # instructions / cycles
    count_per_inference: int | None = None
    macs: int | None = None
    arena_bytes: int | None = None
    model_bytes: int | None = None
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    first_divergence: str | None = None      # "layer 3 (K210_CONV) element 17: device 12 vs PC 13"
    per_layer_max_abs: list = dataclasses.field(default_factory=list)   # [(index, name, max |device - PC|)]
    errors_vs_float: list = dataclasses.field(default_factory=list)     # flattened errors for the histogram
    notes: list = dataclasses.field(default_factory=list)
    status: str = "pass"                     # pass / fail / error
    error: str | None = None                 # why the case stopped (status error/fail), one line
    link: dict = dataclasses.field(default_factory=dict)   # CRC errors, retries, timeouts, resets seen
    place: str = ""                          # labgrid place and exporter the case ran on (board farm)
    exporter: str = ""

    @property
    def macs_per_insn(self):
        if self.macs and self.count_per_inference:
            return self.macs / self.count_per_inference
        return None


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def plots(r: Result):
    """{name: png bytes} for one result: error histogram and per-layer divergence."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    out = {}
    if len(r.errors_vs_float):
        fig, ax = plt.subplots(figsize=(5, 2.6))
        ax.hist(np.asarray(r.errors_vs_float, np.float64), bins=60, color="#3b7dd8")
        ax.set_title(f"{r.model} on {r.target}: device - float model")
        ax.set_xlabel("output error")
        ax.set_ylabel("count")
        out["error_hist"] = _png(fig)
    if r.per_layer_max_abs:
        idx = [i for i, _, _ in r.per_layer_max_abs]
        val = [v for _, _, v in r.per_layer_max_abs]
        fig, ax = plt.subplots(figsize=(max(5, len(idx) * 0.25), 2.6))
        bad = [v != 0 for v in val]
        diff = [(1.0 if v != v else v) if b else 0.0 for v, b in zip(val, bad)]   # NaN: differs, size unknown
        ax.bar(idx, diff, color="#d83b3b", label="differs")
        ax.scatter([i for i, b in zip(idx, bad) if not b], [0] * (len(idx) - sum(bad)), color="#3bb06a",
                   zorder=3, label="identical")
        ax.set_ylim(-0.05 * max(1.0, max(diff)), 1.1 * max(1.0, max(diff)))
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{r.model} on {r.target}: per-layer max |device - PC| "
                     f"({len(val) - sum(bad)}/{len(val)} layers identical)")
        ax.set_xlabel("layer")
        ax.set_ylabel("max abs")
        out["per_layer"] = _png(fig)
    return out


def _fmt(v, spec="{:.4g}"):
    return "-" if v is None else spec.format(v)


def _row(r: Result):
    where = f"{r.target} ({r.place} @ {r.exporter})" if r.place else r.target     # board farm: which board
    return [r.model, where, r.status, f"{r.bit_exact}/{r.inputs}", _fmt(r.max_abs_vs_ref), _fmt(r.max_abs_vs_float),
            _fmt(r.cosine_vs_float, "{:.5f}"), _fmt(r.top1_agree, "{:.0%}"),
            "-" if r.count_per_inference is None else f"{r.count_per_inference:,} {r.counter}",
            _fmt(r.macs_per_insn, "{:.3f}"), _fmt(r.arena_bytes, "{:,}"), _fmt(r.model_bytes, "{:,}"),
            _fmt(r.flash_bytes, "{:,}"), r.first_divergence or "-"]


HEADERS = ["model", "target", "status", "bit-exact", "max|dev-ref|", "max|dev-float|", "cosine", "top-1",
           "per inference", "MAC/insn", "arena B", "model B", "fw flash B", "first divergence"]


def write(results, outdir, title="EMC bench report", meta=None):
    """Write report.md (+ PNGs), report.html and results.json into outdir; returns the paths."""
    os.makedirs(outdir, exist_ok=True)
    meta = dict(meta or {})
    meta.setdefault("generated", datetime.datetime.now().isoformat(timespec="seconds"))
    md = [f"# {title}", "", " · ".join(f"{k}: {v}" for k, v in meta.items()), "",
          "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    hrows, sections, hsections = [], [], []
    for r in results:
        md.append("| " + " | ".join(str(c) for c in _row(r)) + " |")
        hrows.append("<tr class='%s'>" % html.escape(r.status) + "".join(f"<td>{html.escape(str(c))}</td>" for c in _row(r)) + "</tr>")
        pics = plots(r)
        if pics or r.notes:
            sections.append(f"## {r.model} on {r.target}")
            hsections.append(f"<h2>{html.escape(r.model)} on {html.escape(r.target)}</h2>")
            for n in r.notes:
                sections.append(f"- {n}")
                hsections.append(f"<p>{html.escape(n)}</p>")
            for name, png in pics.items():
                fn = f"{r.model}_{r.target}_{name}.png".replace("/", "_")
                with open(os.path.join(outdir, fn), "wb") as f:
                    f.write(png)
                sections.append(f"![{name}]({fn})")
                hsections.append(f"<img alt='{name}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
            sections.append("")
    md += [""] + sections
    md_path = os.path.join(outdir, "report.md")
    with open(md_path, "w") as f:
        f.write("\n".join(md) + "\n")
    page = ("<!doctype html><meta charset='utf-8'><title>%s</title><style>body{font-family:sans-serif;margin:2em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
            "tr.fail td{background:#fdd}tr.error td{background:#fec}</style><h1>%s</h1><p>%s</p><table><tr>%s</tr>%s"
            "</table>%s" % (html.escape(title), html.escape(title),
                            html.escape(" · ".join(f"{k}: {v}" for k, v in meta.items())),
                            "".join(f"<th>{h}</th>" for h in HEADERS), "".join(hrows), "".join(hsections)))
    html_path = os.path.join(outdir, "report.html")
    with open(html_path, "w") as f:
        f.write(page)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": [
            {k: v for k, v in dataclasses.asdict(r).items() if k != "errors_vs_float"} for r in results]},
            f, indent=1, default=float)
    return md_path, html_path

"""Shared helpers of the benchmarks: statistics, the units of the reference table, table printing, `--json`.

Durations are seconds (floats) everywhere in code and are rendered like the reference table of spec code-mode.md
section 6 (`473.43us`, `1.13ms`, `2.01s`); memory is bytes rendered as `912.00KiB` / `8.05MiB`.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any, Iterable, Sequence


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for no values."""
    return statistics.fmean(values) if values else math.nan


def percentile(values: Iterable[float], pct: float) -> float:
    """The `pct` (0-100) percentile with linear interpolation between closest ranks; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def fmt_duration(seconds: float | None) -> str:
    """`473.43us`, `1.13ms`, `2.01s` (two decimals, unit chosen by magnitude); `-` for None/NaN."""
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f}us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds:.2f}s"


def fmt_bytes(count: float | None) -> str:
    """`912.00KiB`, `8.05MiB`, `0B` (binary units, two decimals; negative deltas keep their sign); `-` for None."""
    if count is None or (isinstance(count, float) and math.isnan(count)):
        return "-"
    sign = "-" if count < 0 else ""
    size = abs(count)
    if size < 1024:
        return f"{sign}{size:.0f}B"
    if size < 1024 * 1024:
        return f"{sign}{size / 1024:.2f}KiB"
    return f"{sign}{size / (1024 * 1024):.2f}MiB"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as aligned plain text: the first column left-aligned, the others right-aligned, like spec section 6.

    Cells are rendered with `str()`; the header is the first line. Returns the text without a trailing newline.
    """
    cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        parts = [row[0].ljust(widths[0])] + [row[i].rjust(max(widths[i], 10)) for i in range(1, len(columns))]
        lines.append(" ".join(parts).rstrip())
    return "\n".join(lines)


def write_json(path: str | Path, payload: Any) -> None:
    """Write `payload` as indented JSON to `path` (raw numbers: seconds and bytes, not rendered strings)."""
    Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """`{"n", "mean", "p50", "p95", "min", "max"}` of durations in seconds."""
    return {"n": len(samples), "mean": mean(samples), "p50": percentile(samples, 50), "p95": percentile(samples, 95),
            "min": min(samples) if samples else math.nan, "max": max(samples) if samples else math.nan}

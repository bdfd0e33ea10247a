"""Process memory readings for the benchmarks (Linux `/proc`): current RSS, the high-water mark, and its reset.

All values are bytes. `reset_peak()` writes `5` to `/proc/<pid>/clear_refs`, which sets VmHWM back to the current
RSS (Linux >= 4.0), so one fresh process can measure the peak delta of each sample in turn.
"""

from __future__ import annotations

import re
import resource

_FIELD = re.compile(r"^(VmRSS|VmHWM):\s+(\d+)\s+kB$", re.MULTILINE)


def _status(pid: int | str) -> dict[str, int]:
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        return {name: int(kb) * 1024 for name, kb in _FIELD.findall(f.read())}


def rss_bytes(pid: int | str = "self") -> int:
    """Current resident set size of `pid` (default: this process), bytes."""
    return _status(pid)["VmRSS"]


def peak_bytes(pid: int | str = "self") -> int:
    """Peak RSS (VmHWM) of `pid` since start or the last `reset_peak`, bytes; falls back to `ru_maxrss` for self."""
    try:
        return _status(pid)["VmHWM"]
    except (OSError, KeyError):
        if pid != "self":
            raise
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak(pid: int | str = "self") -> bool:
    """Reset VmHWM of `pid` to its current RSS; False when the kernel refuses (then deltas span the whole run)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False

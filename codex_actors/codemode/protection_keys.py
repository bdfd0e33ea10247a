"""Whether this thread could touch memory V8 has tagged with an x86 memory protection key (PKU).

`v8bridge` starts V8 with protection keys off. If something else in the process initialised V8 first (py_mini_racer's
own `MiniRacer()`), they may be on: V8 then tags its JS dispatch table with a key and gives access to it only to the
initialising thread and the threads created after it. A context built on an older thread crashes the whole process
(SIGSEGV, SEGV_PKUERR). `blocked_keys()` says, before that happens, which of V8's keys this thread cannot access.

Linux only: the keys in use are the non-zero `ProtectionKey` fields of `/proc/self/smaps` (proc(5)), read once;
this thread's rights come from glibc's `pkey_get` (pkeys(7)). Where either is missing, nothing is blocked.
"""

from __future__ import annotations

import ctypes
import functools

PKEY_DISABLE_ACCESS = 0x1
"""pkeys(7): the key's pages may not be read or written by this thread."""


@functools.cache
def keys_in_use() -> tuple[int, ...]:
    """The protection keys some mapping of this process is tagged with (read once: V8 tags its pages when it is
    initialised). Empty without PKU, or where smaps cannot be read."""
    try:
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
            keys = {int(line.split()[1]) for line in smaps if line.startswith("ProtectionKey:")}
    except (OSError, ValueError, IndexError):
        return ()
    return tuple(sorted(keys - {0}))


def blocked_keys(keys: tuple[int, ...]) -> list[int]:
    """Those of `keys` this thread may not access (its PKRU register denies them)."""
    pkey_get = getattr(ctypes.CDLL(None), "pkey_get", None)
    if pkey_get is None:
        return []
    return [key for key in keys if (rights := pkey_get(key)) >= 0 and rights & PKEY_DISABLE_ACCESS]

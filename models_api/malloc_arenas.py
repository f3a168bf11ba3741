"""How many glibc malloc arenas a worker may use: two, instead of glibc's 8 per CPU.

glibc gives each new thread its own malloc arena until there are 8 x CPUs of them (16 on two
vCPUs), and an arena keeps the memory freed in it for the next allocation made there. A worker
has 8 gunicorn threads plus gRPC's own, and each request allocates and frees native memory
(gRPC call buffers, socket reads, protobuf), so each of the 16 arenas holds the largest burst
its threads happened to make: worker RSS drifted by 0 to 9 MiB with thread scheduling alone,
while the memory in use stayed flat (measured with malloc_info and tracemalloc inside the
worker, see docs/performance.md). Python serializes its own allocations under the GIL, so two
arenas lose nothing measurable and keep the freed memory in two places instead of sixteen.

An operator's MALLOC_ARENA_MAX (read by glibc at start-up) wins. Elsewhere than glibc (macOS,
musl) this does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping

MAX_ARENAS = 2
_M_ARENA_MAX = -8  # glibc malloc.h


def limit_malloc_arenas(environ: Mapping[str, str], max_arenas: int = MAX_ARENAS) -> bool:
    """Cap the arenas of this process and its forks (call it before threads start).

    Returns whether the cap was set here.
    """
    if "MALLOC_ARENA_MAX" in environ:
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, max_arenas))

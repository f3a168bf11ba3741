"""The malloc arena cap, observed in a fresh process through glibc's own statistics."""

from __future__ import annotations

import re
import subprocess
import sys

from local_harness.processes import ROOT
from models_api.malloc_arenas import MAX_ARENAS, limit_malloc_arenas

# Eight threads allocate at once (like a worker's gunicorn threads); malloc_info then lists one
# <heap> per arena that exists.
_EIGHT_THREADS_ALLOCATE = """
import ctypes, os, sys, tempfile, threading
from models_api.malloc_arenas import limit_malloc_arenas
if sys.argv[1] == "limit":
    limit_malloc_arenas(os.environ)
start = threading.Barrier(8)
def allocate():
    start.wait()
    blocks = [bytearray(4096) for _ in range(256)]
    start.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    handle = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, handle)
    libc.fclose(handle)
    print(open(out.name).read())
"""


def _arenas_after_eight_threads(mode: str, **env: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _EIGHT_THREADS_ALLOCATE, mode],
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return len(re.findall(r'<heap nr="\d+">', result.stdout))


def test_the_cap_keeps_a_threaded_process_to_two_arenas() -> None:
    assert _arenas_after_eight_threads("limit") <= MAX_ARENAS
    assert _arenas_after_eight_threads("default") > MAX_ARENAS  # what glibc does by itself


def test_an_operators_malloc_arena_max_wins() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False
    assert _arenas_after_eight_threads("limit", MALLOC_ARENA_MAX="4") > MAX_ARENAS

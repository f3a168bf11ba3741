"""A command-line tool's output when its reader goes away (`... | head -1`).

The work must not stop half-way because nobody reads any more (a seed interrupted between
writes, a key minted but its transaction abandoned), and the tool must not print a traceback
or a misleading "Firestore failed: BrokenPipeError". So stdout and stderr are wrapped: each
write is flushed at once, and once the reader has gone, later output is discarded quietly.
The exit status is then the status of the work done.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO


class ClosedPipeTolerant:
    """A text stream that discards output once its pipe has been closed by the reader."""

    def __init__(self, stream: TextIO | None):
        self._stream = stream
        # None: the process started with that descriptor closed (`>&-`); nobody reads it.
        self.reader_gone = stream is None

    def write(self, text: str) -> int:
        if not self.reader_gone and self._stream is not None:
            try:
                self._stream.write(text)
                self._stream.flush()  # the failure surfaces here, not at interpreter exit
            except BrokenPipeError:
                self._discard_from_now_on()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone and self._stream is not None:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard_from_now_on()

    def _discard_from_now_on(self) -> None:
        self.reader_gone = True
        assert self._stream is not None
        # Point the descriptor at /dev/null, so the interpreter's final flush of the
        # buffered rest cannot fail with "Exception ignored ... BrokenPipeError" either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def run_tolerating_a_closed_pipe(main: Callable[[], int]) -> int:
    """Run a CLI's main with stdout and stderr that survive a closed pipe; its exit status."""
    sys.stdout = ClosedPipeTolerant(sys.stdout)
    sys.stderr = ClosedPipeTolerant(sys.stderr)
    return main()

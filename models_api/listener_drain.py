"""Stop a listening socket from taking new connections without resetting the queued ones.

Closing a listening socket resets every connection the kernel completed but nobody accepted:
the client connected, sent its request, and reads ECONNRESET. A socket filter that drops
incoming SYNs instead makes new connections wait (the client's SYN is retried) and, once the
socket is closed, be refused at connect; handshakes already under way complete, and the
queue can be accepted and served before the close.

Linux only (SO_ATTACH_FILTER with a classic BPF program); elsewhere nothing is attached.
"""

from __future__ import annotations

import ctypes
import socket
import struct

_SO_ATTACH_FILTER = 26
# For a TCP socket, the filter sees the packet from the TCP header on: byte 13 holds the flags.
_LOAD_TCP_FLAGS = (0x30, 0, 0, 13)  # ldb [13]
_IF_SYN_SKIP_ONE = (0x45, 1, 0, 0x02)  # jset #0x02 -> skip the next instruction
_KEEP = (0x06, 0, 0, 0xFFFFFFFF)  # ret #-1: the whole packet
_DROP = (0x06, 0, 0, 0)  # ret #0
_DROP_SYNS = (_LOAD_TCP_FLAGS, _IF_SYN_SKIP_ONE, _KEEP, _DROP)


def refuse_new_connections(listener: socket.socket) -> bool:
    """Drop SYNs to `listener` from now on; whether the filter could be attached."""
    if listener.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    program = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *instruction) for instruction in _DROP_SYNS)
    )
    # struct sock_fprog {unsigned short len; struct sock_filter *filter;}
    fprog = struct.pack("HL", len(_DROP_SYNS), ctypes.addressof(program))
    try:
        listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    except OSError:
        return False
    return True

"""The local Firestore emulator listens on loopback only, as docs/local-development.md says.

The npm package's own `start()` binds every interface; local_harness/firestore_emulator.js
binds 127.0.0.1. Read from the kernel's table of listening TCP sockets (Linux).
"""

from __future__ import annotations

import socket
from pathlib import Path

from local_harness.processes import FirestoreEmulator

LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == LISTEN:
                found.add(address)
    return found


def test_the_firestore_emulator_listens_on_127_0_0_1_only(
    firestore_emulator: FirestoreEmulator,
) -> None:
    assert listening_addresses(firestore_emulator.port) == {"0100007F"}  # 127.0.0.1


def test_the_reader_sees_a_socket_on_every_interface() -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - the check must see an all-interfaces listener
        sock.listen()
        port = sock.getsockname()[1]

        assert listening_addresses(port) == {"00000000"}

"""What crosses the wire for one catalog response per content coding, and a large catalog.

Bytes are counted on a raw socket (status line, headers and body, as sent), so the numbers
include what compression cannot shrink.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODINGS = {"identity": "identity", "gzip": "gzip", "br": "br", "gzip, br": "gzip, br"}


def response_bytes(port: int, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """(bytes of the whole response, bytes of its body) for one GET on a fresh connection."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    request += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode("latin-1"))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"expected a 200, got {head[:40]!r}")
    return len(response), len(body)


def report(title: str, port: int, key: str) -> None:
    sizes = {
        label: response_bytes(port, "/models", {"X-Api-Key": key, "Accept-Encoding": value})
        for label, value in CODINGS.items()
    }
    plain_total, plain_body = sizes["identity"]
    print(f"  {title}:")
    for label, (total, body) in sizes.items():
        print(
            f"    Accept-Encoding: {label:9} {total:7,} bytes on the wire (body {body:7,}) "
            f"-> {total / plain_total:.3f}x of identity"
        )


def seed_generated_catalog(project: str, env: dict[str, str], count: int) -> str:
    """`count` models cloned from the seed data (new ids and names), and a key; returns it.

    The models go through the seed's own loading and pricing, so they have every field the
    service reads.
    """
    from google.cloud import firestore

    from catalog_seed.dataset import load_catalog
    from catalog_seed.pricing import PricingPolicy

    seed_dir = ROOT / "catalog_seed"
    documents, errors = load_catalog(
        seed_dir / "models", PricingPolicy.load(seed_dir / "pricing.toml")
    )
    if errors:
        raise RuntimeError(f"seed data invalid: {errors[:3]}")
    templates = [document for document in documents.values() if document["status"] == "active"]
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = env["FIRESTORE_EMULATOR_HOST"]
    try:
        client = firestore.Client(project=project)
        batch = client.batch()
        for number in range(count):
            template: dict[str, Any] = templates[number % len(templates)]
            model_id = f"{template['id']}-gen{number}"
            document = {
                **template,
                "id": model_id,
                "name": f"{template['name']} ({number})",
                # Prices differ per model, as in a real catalog (copies would compress better).
                "cost_per_1k_input": _varied(template["cost_per_1k_input"], number),
                "cost_per_1k_output": _varied(template["cost_per_1k_output"], 7 * number + 3),
            }
            batch.set(client.collection("models").document(model_id), document)
            if number % 200 == 199:
                batch.commit()
                batch = client.batch()
        batch.commit()
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    minted = subprocess.run(
        [sys.executable, "-m", "key_admin", "create", "--owner", "bench"],
        cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return minted.stdout.strip().splitlines()[-1]


def _varied(price: float, seed: int) -> float:
    """A price between 0.5x and 1.5x of `price`, different for each seed."""
    return round(price * (0.5 + (seed * 7919 % 1000) / 1000), 5)

"""What crosses the wire for one catalog response per content coding, and a large catalog.

Bytes are counted on a raw socket (status line, headers and body, as sent), so the numbers
include what compression cannot shrink. `make bench` prints them between its rounds;
`python -m bench.wire_bytes` prints only them (no load, so any machine gives the same bytes).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CODINGS = {"identity": "identity", "gzip": "gzip", "br": "br", "gzip, br": "gzip, br"}


def response_bytes(port: int, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """(bytes of the whole response, bytes of its body) for one GET on a fresh connection."""
    response, body = _get(port, path, headers)
    return len(response), len(body)


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
    """The whole response and its body, for one GET on a fresh connection."""
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
    return response, body


def served_count(port: int, key: str) -> int:
    """How many models the list really holds (a document the service refuses is left out)."""
    return len(json.loads(_get(port, "/models", {"X-Api-Key": key})[1])["models"])


def report(title: str, port: int, key: str, expected_models: int | None = None) -> None:
    served = served_count(port, key)
    if expected_models is not None and served != expected_models:
        raise RuntimeError(f"{title}: the service lists {served} models, not {expected_models}")
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
    from local_harness.seeded_service import mint_key

    seed_dir = ROOT / "catalog_seed"
    documents, errors = load_catalog(
        seed_dir / "models", PricingPolicy.load(seed_dir / "pricing.toml")
    )
    if errors:
        raise RuntimeError(f"seed data invalid: {errors[:3]}")
    today = datetime.now(timezone.utc).date().isoformat()
    templates = [  # the models served today: a retired one would be left out of the list
        document
        for document in documents.values()
        if document["status"] == "active"
        and (document.get("retirement_date") is None or document["retirement_date"] > today)
    ]
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = env["FIRESTORE_EMULATOR_HOST"]
    try:
        client = firestore.Client(project=project)
        batch = client.batch()
        for number in range(count):
            template: dict[str, Any] = templates[number % len(templates)]
            model_id = f"{template['id']}-gen{number}"
            # Prices differ per model, as in a real catalog (copies would compress better);
            # every price of a model scales by one factor, so its pricing stays valid.
            factor = 0.5 + (number * 7919 % 1000) / 1000
            document = {
                **_scaled(template, factor),
                "id": model_id,
                "name": f"{template['name']} ({number})",
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
    return mint_key(env)


_PRICE_FIELDS = (
    "cost_per_1k_input",
    "cost_per_1k_output",
    "input_per_1k_tokens",
    "output_per_1k_tokens",
    "cached_input_per_1k_tokens",
    "cache_write_per_1k_tokens",
    "audio_input_per_1k_tokens",
    "output_per_image",
)


def _scaled(value: Any, factor: float) -> Any:
    """The document with every price multiplied by `factor` (other fields as they are)."""
    if isinstance(value, dict):
        return {
            name: round(item * factor, 6)
            if name in _PRICE_FIELDS and isinstance(item, float)
            else _scaled(item, factor)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_scaled(item, factor) for item in value]
    return value


GENERATED_MODELS = 300


def main() -> int:
    """The bytes `make bench` prints, on their own: our catalog as seeded, then a generated one."""
    from local_harness.processes import FirestoreEmulator, FunctionServer
    from local_harness.seeded_service import seed_and_mint_key, service_env

    emulator = FirestoreEmulator().start()
    try:
        env = service_env("demo-wire-bytes", emulator.host)
        key = seed_and_mint_key("demo-wire-bytes", env)
        large_env = service_env("demo-wire-bytes-large", emulator.host)
        large_key = seed_generated_catalog("demo-wire-bytes-large", large_env, GENERATED_MODELS)
        today = datetime.now(timezone.utc).date().isoformat()
        print(f"bytes on the wire per response on {today} (status line + headers + body):")
        for title, server_env, server_key, expected in (
            ("our catalog", env, key, None),
            ("a generated catalog", large_env, large_key, GENERATED_MODELS),
        ):
            server = FunctionServer(server_env).start()
            try:
                count = served_count(server.port, server_key)
                report(f"{title} ({count} models)", server.port, server_key, expected)
            finally:
                server.stop()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

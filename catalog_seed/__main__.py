"""python -m catalog_seed: validate the catalog data, show the difference, write it to Firestore.

Targets the emulator when FIRESTORE_EMULATOR_HOST is set, otherwise the project given by
--project (or GOOGLE_CLOUD_PROJECT) with Application Default Credentials.
Exit status: 0 done (or nothing to do), 1 invalid data, 2 Firestore failure, 64 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from catalog_seed.dataset import load_catalog
from catalog_seed.pricing import PricingError, PricingPolicy
from catalog_seed.seed import apply_seed, plan_seed, read_existing

HERE = Path(__file__).resolve().parent
TIMEOUT_SECONDS = 30.0


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m catalog_seed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--project",
        default=os.environ.get("GOOGLE_CLOUD_PROJECT"),
        help="Google Cloud project (default: $GOOGLE_CLOUD_PROJECT)",
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("FIRESTORE_DATABASE", "(default)"),
        help="Firestore database id (default: $FIRESTORE_DATABASE or (default))",
    )
    parser.add_argument(
        "--collection",
        default=os.environ.get("CATALOG_COLLECTION", "models"),
        help="catalog collection (default: $CATALOG_COLLECTION or models)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=HERE / "models", help="folder of *.toml catalog files"
    )
    parser.add_argument(
        "--pricing",
        type=Path,
        default=HERE / "pricing.toml",
        help="pricing policy file (margin, credit value, rounding)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the difference and write nothing"
    )
    parser.add_argument(
        "--delete-removed",
        action="store_true",
        help="delete models that are no longer in the data (default: retire)",
    )
    parser.add_argument(
        "--validate-only",
        action="store_true",
        help="validate the data files; do not contact Firestore",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        policy = PricingPolicy.load(arguments.pricing)
    except PricingError as error:
        print(f"error: invalid pricing policy: {error}", file=sys.stderr)
        return 1
    desired, errors = load_catalog(arguments.data_dir, policy)
    if errors:
        for line in errors:
            print(f"invalid: {line}", file=sys.stderr)
        print(
            f"error: {len(errors)} problem(s) in the catalog data; nothing was written",
            file=sys.stderr,
        )
        return 1
    if arguments.validate_only:
        print(f"catalog data valid: {len(desired)} models")
        return 0
    if not arguments.project:
        print("error: no project: pass --project or set GOOGLE_CLOUD_PROJECT", file=sys.stderr)
        return 64

    from google.cloud import firestore

    target = os.environ.get("FIRESTORE_EMULATOR_HOST")
    where = f"emulator {target}" if target else "Firestore (Application Default Credentials)"
    print(
        f"target: project {arguments.project}, database {arguments.database}, "
        f"collection {arguments.collection} on {where}"
    )
    try:
        client = firestore.Client(project=arguments.project, database=arguments.database)
        existing = read_existing(client, arguments.collection, TIMEOUT_SECONDS)
        plan = plan_seed(desired, existing, arguments.delete_removed)
        for line in plan.describe():
            print(line)
        if arguments.dry_run:
            print("dry run: nothing was written")
            return 0
        if not plan.has_writes:
            print("nothing to do: Firestore already matches the data")
            return 0
        written = apply_seed(
            client, arguments.collection, plan, arguments.delete_removed, TIMEOUT_SECONDS
        )
    except Exception as error:  # noqa: BLE001 - one-line reason for the operator, exit 2
        print(
            f"error: Firestore failed: {type(error).__name__}: {error}".splitlines()[0],
            file=sys.stderr,
        )
        return 2
    print(f"done: {written} document(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())

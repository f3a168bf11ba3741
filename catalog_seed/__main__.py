"""python -m catalog_seed: validate the catalog data, show the difference, write it to Firestore.

Targets the emulator when FIRESTORE_EMULATOR_HOST is set, otherwise the project given by
--project (or GOOGLE_CLOUD_PROJECT) with Application Default Credentials.
`python -m catalog_seed audit --against FILE [--against FILE ...]` compares the served models
with public datasets instead (LiteLLM's JSON, OpenRouter's /api/v1/models and endpoints
answers, a models.dev checkout); see `python -m catalog_seed audit --help`.
`python -m catalog_seed table [--on YYYY-MM-DD]` prints docs/catalog.md's table of the models
served on that day (default: today, UTC) and their prices.
Every seed records how many models stored as active it left (catalog_state/<collection>);
instances refuse a read that loses more than CATALOG_MAX_SHRINK_FRACTION of them at once unless
it matches that record, so a larger removal needs --confirm.
The seed marks each document it writes (managed_by = "catalog_seed") and refuses to change or
retire one without the mark: another tool wrote it, or --collection/--database point at the
wrong place. --adopt-unmarked takes them over, once, for a catalog an older seed wrote.
Exit status: 0 done (or nothing to do), 1 invalid data / refused price change, removal or
unmarked document / an audit failure, 2 Firestore failure, 64 bad usage or an unreadable
dataset. --dry-run exits with the status the seed would have: 1 when it would be refused (an
unmarked document without --adopt-unmarked, a price jump or a large removal without
--confirm), after printing the difference and why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from catalog_audit import audit as audit_module
from catalog_audit import datasets as datasets_module
from catalog_audit.audit import (
    AcknowledgementError,
    audit,
    load_acknowledgements,
    served_models,
)
from catalog_audit.datasets import DatasetError, load_datasets
from catalog_audit.left_out import LeftOutError, load_left_out
from catalog_seed.dataset import expired_prices, load_catalog
from catalog_seed.pricing import PricingError, PricingPolicy
from catalog_seed.seed import (
    Shrink,
    active_count,
    apply_seed,
    is_retired_on,
    plan_seed,
    price_jumps,
    read_existing,
    record_catalog_state,
    recorded_count,
    served_count,
)
from catalog_seed.table import markdown_table
from models_api.catalog.guard import DEFAULT_MAX_SHRINK_FRACTION
from models_api.config import catalog_max_shrink_fraction
from models_api.errors import ConfigError
from operator_cli.closed_pipe import run_tolerating_a_closed_pipe
from operator_cli.firestore_probe import ensure_reachable

HERE = Path(__file__).resolve().parent
TIMEOUT_SECONDS = 30.0
PROBE_TIMEOUT_SECONDS = 10.0


# Subcommands dispatched before the seed's own options are parsed; the usage line lists them.
SUBCOMMANDS = {
    "audit": "audit --against FILE [--data-dir DIR] [--pricing FILE]",
    "table": "table",
}
USAGE = "\n".join(
    [
        "%(prog)s [-h] [--project PROJECT] [--database DATABASE]",
        "                              [--collection COLLECTION] [--data-dir DATA_DIR]",
        "                              [--pricing PRICING] [--dry-run] [--delete-removed]",
        "                              [--confirm] [--validate-only]",
        "                              [--accept-expired-prices] [--adopt-unmarked]",
    ]
    + [f"       %(prog)s {synopsis}" for synopsis in SUBCOMMANDS.values()]
)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m catalog_seed",
        usage=USAGE,
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
        "--confirm",
        action="store_true",
        help=(
            "accept prices that move by more than max_price_change_factor (pricing.toml), and "
            "a removal of more than CATALOG_MAX_SHRINK_FRACTION of the active models at once"
        ),
    )
    parser.add_argument(
        "--max-shrink-fraction",
        type=_shrink_fraction,
        # a string default goes through `type` too: a bad environment value is a usage error
        default=os.environ.get("CATALOG_MAX_SHRINK_FRACTION") or str(DEFAULT_MAX_SHRINK_FRACTION),
        help=(
            "the largest fraction of active models instances accept losing at once; set it as "
            "the service's CATALOG_MAX_SHRINK_FRACTION (default: $CATALOG_MAX_SHRINK_FRACTION "
            f"or {DEFAULT_MAX_SHRINK_FRACTION})"
        ),
    )
    parser.add_argument(
        "--accept-expired-prices",
        action="store_true",
        help="seed even though a price is past its valid_until (it is then sold at the ended "
        "price): for an urgent unrelated change while the next price is not known yet",
    )
    parser.add_argument(
        "--adopt-unmarked",
        action="store_true",
        help="change and retire documents without the seed's managed_by mark, and mark them: "
        "once, for a collection this seed filled before it marked its documents",
    )
    parser.add_argument(
        "--validate-only",
        action="store_true",
        help="validate the data files; do not contact Firestore",
    )
    return parser.parse_args(argv)


def _shrink_fraction(raw: str) -> float:
    """The service's own reading of the setting, so the seed and the instances agree."""
    try:
        return catalog_max_shrink_fraction({"CATALOG_MAX_SHRINK_FRACTION": raw})
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


AUDIT_EPILOG = """\
Exit status: 0 no failure; 1 a failure that is not acknowledged (below cost, past shutdown, a
price that differs, a dated price not seeded, an unpriced endpoint, a cap that refuses traffic
or lets a request cost more than we charge, a billed price we do not charge, no allowed
endpoint, a dataset that lists no served model) or, with --require-coverage, a served model no
independent dataset confirmed; 64 a dataset or acknowledgements file that cannot be read, or a
price in it that is not a non-negative number (file, entry and field named), or bad usage.
Every finding prints the data edit that resolves it (fix: file, model, field, value, source).
"""


def parse_audit_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m catalog_seed audit",
        description=f"{audit_module.__doc__}\n{datasets_module.__doc__}",
        epilog=AUDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--against",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="a dataset file or folder (format detected); repeat for several: e.g. "
        "LiteLLM's JSON, genai-prices' wheel, installed genai_prices folder or data.json, "
        "OpenRouter's /api/v1/models answer and one endpoints answer per routed model, "
        "a models.dev checkout",
    )
    parser.add_argument("--data-dir", type=Path, default=HERE / "models")
    parser.add_argument("--pricing", type=Path, default=HERE / "pricing.toml")
    parser.add_argument(
        "--acknowledgements",
        type=Path,
        default=HERE / "acknowledgements.toml",
        metavar="FILE",
        help="reviewed findings ([[acknowledged]]) and models deliberately not served "
        "([[left_out]]): reported, but neither fail the run nor alert until their date "
        "(default: catalog_seed/acknowledgements.toml)",
    )
    parser.add_argument(
        "--require-coverage",
        action="store_true",
        help="fail when a served model is confirmed by no independent dataset",
    )
    parser.add_argument(
        "--on",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="audit the models served on this day (default: today, UTC)",
    )
    return parser.parse_args(argv)


def run_audit(argv: list[str]) -> int:
    arguments = parse_audit_arguments(argv)
    today = arguments.on or dt.datetime.now(dt.timezone.utc).date()
    loaded = _load(arguments.data_dir, arguments.pricing, today)
    if isinstance(loaded, int):
        return loaded
    desired, policy = loaded
    try:
        acknowledgements = load_acknowledgements(arguments.acknowledgements)
        left_out = load_left_out(arguments.acknowledgements)
        datasets = load_datasets(arguments.against)
        models, _ = served_models(desired.items(), today)
        report = audit(models, datasets, policy, today, acknowledgements, left_out)
    except (DatasetError, AcknowledgementError, LeftOutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 64
    for line in report.lines(today):
        print(line)
    return 1 if report.failed(arguments.require_coverage) else 0


def _load(
    data_dir: Path, pricing: Path, today: dt.date | None = None
) -> tuple[dict[str, dict[str, Any]], PricingPolicy] | int:
    """The validated catalog documents and the pricing policy, or the exit status."""
    try:
        policy = PricingPolicy.load(pricing)
    except PricingError as error:
        print(f"error: invalid pricing policy: {error}", file=sys.stderr)
        return 1
    desired, errors = load_catalog(data_dir, policy, today)
    if errors:
        for line in errors:
            print(f"invalid: {line}", file=sys.stderr)
        print(
            f"error: {len(errors)} problem(s) in the catalog data; nothing was written",
            file=sys.stderr,
        )
        return 1
    return desired, policy


def _table_day(argv: list[str]) -> dt.date | None:
    """`table`'s one option: --on YYYY-MM-DD (default today, UTC); None after a usage error."""
    if not argv:
        return dt.datetime.now(dt.timezone.utc).date()
    if len(argv) == 2 and argv[0] == "--on":
        try:
            return dt.date.fromisoformat(argv[1])
        except ValueError:
            pass
    print("usage: python -m catalog_seed table [--on YYYY-MM-DD]", file=sys.stderr)
    return None


def main(argv: list[str] | None = None, today: dt.date | None = None) -> int:
    """Run the command line; `today` (UTC) is the day the seed checks prices against."""
    try:
        return _run(sys.argv[1:] if argv is None else argv, today)
    except SystemExit as stop:  # argparse: --help exits 0, a usage error 2 -> our 64
        return 64 if stop.code == 2 else int(stop.code or 0)


def _run(argv: list[str], today: dt.date | None) -> int:
    if argv[:1] == ["audit"]:
        return run_audit(argv[1:])
    if argv[:1] == ["table"]:
        loaded = _load(HERE / "models", HERE / "pricing.toml")
        if isinstance(loaded, int):
            return loaded
        served_on = _table_day(argv[1:])
        if served_on is None:
            return 64
        print("\n".join(markdown_table(loaded[0], served_on)))
        return 0
    arguments = parse_arguments(argv)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    loaded = _load(arguments.data_dir, arguments.pricing, today)
    if isinstance(loaded, int):
        return loaded
    desired, policy = loaded
    expired = expired_prices(desired, today)
    if expired and arguments.accept_expired_prices:
        for line in expired:
            print(f"note: accepted (--accept-expired-prices): {line}")
    elif expired:
        for line in expired:
            print(f"invalid: {line}", file=sys.stderr)
        print(
            f"error: {len(expired)} price(s) past their valid_until on {today.isoformat()} "
            "(UTC); nothing was written (--accept-expired-prices seeds them anyway)",
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
        ensure_reachable(client, arguments.collection, PROBE_TIMEOUT_SECONDS)
        existing = read_existing(client, arguments.collection, TIMEOUT_SECONDS)
        plan = plan_seed(desired, existing, arguments.delete_removed)
        for line in plan.describe():
            print(line)
        for model_id, document in sorted(desired.items()):
            if is_retired_on(document, today):
                print(
                    f"note: {model_id} is past its retirement date "
                    f"{document['retirement_date']}: not served"
                )
            valid_until = document["pricing"].get("valid_until") if "pricing" in document else None
            following = [c["effective_at"] for c in document.get("price_changes", [])]
            if valid_until is not None and following:
                print(
                    f"note: {model_id}'s price holds until {valid_until}; the next price is "
                    f"seeded from {following[0]} and served from then on by itself"
                )
            elif valid_until is not None:
                print(
                    f"note: {model_id}'s price holds until {valid_until} (upstream's temporary "
                    "price): seed the next price before the day after"
                )
        jumps = price_jumps(plan, policy.max_price_change_factor)
        for line in jumps:
            print(f"price change above {policy.max_price_change_factor}x: {line}")
        after = active_count(desired)
        shrink = Shrink(
            active_count(existing),
            after,
            arguments.max_shrink_fraction,
            served_count(existing, today),
            served_count(desired, today),
        )
        for line in plan.describe_foreign():
            print(line)
        # Never accepted by --confirm: only the explicit adoption flag takes these over.
        foreign = (
            f"{len(plan.foreign)} document(s) in {arguments.collection} were not written by the "
            "seed (listed above); check --database and --collection, and if this seed filled "
            "that collection before it marked its documents, adopt them once with "
            "--adopt-unmarked"
            if plan.foreign
            else ""
        )
        if foreign and arguments.adopt_unmarked:
            print(f"adopted with --adopt-unmarked: {len(plan.foreign)} document(s) get the mark")
            foreign = ""
        reasons = []
        if jumps:
            reasons.append(
                f"{len(jumps)} price(s) move by more than {policy.max_price_change_factor}x "
                "(listed above)"
            )
        if shrink.refused_by_instances:
            reasons.append(
                f"large removal: {shrink.describe()}; instances refuse such a read as a likely "
                "outage (they keep serving what they have and log an ERROR) unless it matches "
                "the count the seed records"
            )
        if reasons and arguments.confirm:
            print(f"accepted with --confirm: {'; '.join(reasons)}")
            if shrink.refused_by_instances:
                print(
                    f"with --confirm this seed records {after}, so instances take the smaller "
                    "catalog at their next refresh"
                )
        if arguments.dry_run:
            print("dry run: nothing was written")
            if foreign:
                print(f"error: the seed would be refused: {foreign}", file=sys.stderr)
                return 1
            if reasons and not arguments.confirm:
                print(
                    f"error: the seed would be refused: {'; '.join(reasons)}; if intended, "
                    "run it with --confirm",
                    file=sys.stderr,
                )
                return 1
            return 0
        if foreign:
            print(f"error: refused: {foreign}; nothing was written", file=sys.stderr)
            return 1
        if reasons and not arguments.confirm:
            print(
                f"error: refused: {'; '.join(reasons)}; if intended, run again with --confirm; "
                "nothing was written",
                file=sys.stderr,
            )
            return 1
        recorded = recorded_count(client, arguments.collection, TIMEOUT_SECONDS)
        if not plan.has_writes and recorded == after:
            print("nothing to do: Firestore already matches the data")
            return 0
        written = apply_seed(
            client, arguments.collection, plan, arguments.delete_removed, TIMEOUT_SECONDS
        )
        # After the models: an instance reading in between sees the old record and a shrink
        # beyond the fraction, refuses it, and takes the catalog at its next refresh.
        record_catalog_state(client, arguments.collection, after, TIMEOUT_SECONDS)
        print(
            f"recorded: {after} models stored as active, {shrink.served_after} of them served on "
            f"{today.isoformat()} (instances accept a read of exactly {after} active documents)"
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
    sys.exit(run_tolerating_a_closed_pipe(main))

"""python -m key_admin: mint, list, revoke, disable, enable and expire API keys; build and
check the key index that the service answers from; count keys per pepper version.

Uses the same settings as the service: GOOGLE_CLOUD_PROJECT, API_KEYS_DATABASE,
API_KEYS_COLLECTION, and the current pepper (API_KEY_PEPPER_SECRET=.../versions/N, or
API_KEY_PEPPER with API_KEY_PEPPER_VERSION=N; only `create` needs it). Against the emulator
(FIRESTORE_EMULATOR_HOST set, as in `make run`'s export block) that is all. Against a real
project it runs with the operator's own credentials (Application Default Credentials) and
refuses to start unless API_KEYS_DATABASE is set: deployments keep the keys in the database
`api-keys` (Terraform output api_keys_database; infra/gcloud/deploy.sh prints it).

`create` mints under the current pepper and records its version in the key document. It prints
the full key once, on the first line of its output (`| head -1` keeps it), and never stores it;
if that line cannot be written (its reader is gone), the new key is revoked at once and the
exit status is 1. Every change writes the key document and the key index in one commit, safely
alongside other operators; running instances see it within 2 x API_KEY_REFRESH_SECONDS (8 s by
default). An expiry instances already hold is applied to the second; a new or changed one takes
effect at the later of its time and that bound (`expire` prints a note when --at is sooner).
`list` shows `expired` for a key past its expiry (stored status active or disabled), and each
key's pepper version (`unrecorded`: minted before keys recorded it, so under the version current
then); `list --pepper-version N` shows only the keys on N or unrecorded, the ones that keep
`pepper-usage --retiring N` from exiting 0 while they are live.

Exit status: 0 done, 1 refused (unknown key, bad argument, index inconsistent, a new key that
could not be shown), 2 Firestore failure, 64 bad usage or settings. `pepper-usage --retiring N`
has a verdict of its own: 0 no live key depends on N, 3 live keys do (or may: not recorded).
Every other status of it (1, 2, 64, a crash) means the check failed and nothing is known.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone

from key_admin.operations import (
    KeyAdminError,
    check_index,
    create_key,
    is_expired,
    list_keys,
    pepper_usage,
    rebuild_index,
    set_key_expiry,
    set_key_status,
)
from models_api.config import Settings
from models_api.errors import BackendUnavailable, ConfigError, DependencyMisconfigured
from models_api.keys.documents import KeyRecord
from models_api.keys.pepper import pepper_source
from operator_cli.closed_pipe import run_tolerating_a_closed_pipe
from operator_cli.firestore_probe import ensure_reachable
from operator_cli.times import parse_time

PROBE_TIMEOUT_SECONDS = 10.0
# `pepper-usage --retiring N`: live keys depend on N. Not 1, which an error (or a Python crash)
# also gives: scripts must never read a failed check as a verdict.
LIVE_KEYS_EXIT = 3
# Only `create` computes a key id; the other commands need no pepper (retire_pepper.sh runs
# `pepper-usage` without one).
_UNUSED_PEPPER = "no pepper: this command never computes a key id"
# `list`'s pepper column for a key minted before keys recorded their pepper version.
UNRECORDED = "unrecorded"
NO_DATABASE_CHOSEN = (
    "API_KEYS_DATABASE is not set. Against a real project (FIRESTORE_EMULATOR_HOST unset) "
    "name the database the service reads keys from, so no key is written where it does not "
    "look: deployments use api-keys (Terraform output api_keys_database; "
    "infra/gcloud/deploy.sh prints it): export API_KEYS_DATABASE=api-keys"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m key_admin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="mint a key and print it once")
    create.add_argument("--owner", required=True, help="who the key belongs to (account id)")
    create.add_argument("--label", default="", help="free text, e.g. 'ci pipeline'")
    create.add_argument("--expires", type=parse_time, help="90s, 15m, 12h, 30d or an ISO 8601 time")
    listing = commands.add_parser(
        "list", help="an owner's keys with their pepper version (never the keys themselves)"
    )
    listing.add_argument("--owner", required=True)
    listing.add_argument(
        "--pepper-version",
        type=int,
        metavar="N",
        help="only keys on pepper version N or unrecorded: the ones to re-issue before retiring N",
    )
    for action, text in (
        ("revoke", "revoke a key for good"),
        ("disable", "suspend a key (can be enabled again)"),
        ("enable", "re-enable a disabled key"),
    ):
        command = commands.add_parser(action, help=text)
        command.add_argument("key_id", help="the key id printed by create/list")
    expire = commands.add_parser("expire", help="set when a key stops working (default: now)")
    expire.add_argument("key_id", help="the key id printed by create/list")
    expire.add_argument(
        "--at", type=parse_time, help="90s, 15m, 12h, 30d or an ISO 8601 time; default now"
    )
    commands.add_parser(
        "rebuild-index",
        help="build the key index from the key documents (migration or repair); says what it did",
    )
    commands.add_parser(
        "check-index",
        help="compare key documents, index shards and the head's shard versions (exit 1 if "
        "anything differs)",
    )
    usage = commands.add_parser(
        "pepper-usage",
        help="live keys per pepper version: run before retiring a version",
    )
    usage.add_argument(
        "--retiring",
        type=int,
        metavar="N",
        help=f"exit {LIVE_KEYS_EXIT} if any live key still depends on pepper version N, 0 if "
        "none; any other status: the check failed",
    )
    return parser


def shown_status(record: KeyRecord, now: datetime) -> str:
    """The stored status, or `expired` for an active or disabled key past its expiry."""
    if record.status != "revoked" and is_expired(record, now):
        return "expired"
    return record.status


def propagation_note(expires_at: datetime, now: datetime, settings: Settings) -> str | None:
    """What to expect when a new expiry comes sooner than instances are sure to have seen it.

    An expiry an instance already holds is applied to the second; a new or changed one reaches
    instances like any change, within 2 x API_KEY_REFRESH_SECONDS, so the key stops working at
    the later of its expiry and that bound.
    """
    bound = 2 * settings.api_key_refresh_seconds
    if (expires_at - now).total_seconds() >= bound:
        return None
    seen_by = now + timedelta(seconds=bound)
    return (
        f"note: running instances see a new expiry within {bound:g} s "
        "(2 x API_KEY_REFRESH_SECONDS): the key stops working on every instance by "
        f"{seen_by.isoformat(timespec='seconds')}, the later of its expiry and that bound"
    )


def _utc(moment: datetime) -> str:
    """A fixed-width UTC time for the list's columns."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown_pepper_version(record: KeyRecord) -> str:
    """The key's pepper version, or `unrecorded` (one word, so the columns split on spaces)."""
    return str(record.pepper_version) if record.pepper_version is not None else UNRECORDED


def _print_key_list(records: list[KeyRecord], now: datetime) -> None:
    print(
        f"{'key id':64}  {'prefix':12}  {'status':8}  {'pepper':10}  {'created':20}  "
        f"{'expires':20}  label"
    )
    for record in records:
        expires = _utc(record.expires_at) if record.expires_at else "never"
        print(
            f"{record.key_id}  {record.prefix:12}  {shown_status(record, now):8}  "
            f"{shown_pepper_version(record):10}  {_utc(record.created_at):20}  {expires:20}  "
            f"{record.label}"
        )
    print(f"{len(records)} key(s)")
    if any(record.pepper_version is None for record in records):
        print(
            f"'{UNRECORDED}': minted before keys recorded their pepper version, so under the "
            "version that was current then"
        )


def _print_pepper_usage(
    client: object, collection: str, minting_version: int | None, retiring: int | None
) -> int:
    usage = pepper_usage(client, collection)
    versions = sorted(set(usage.active) | set(usage.disabled), key=lambda v: (v is None, v or 0))
    print(f"{'pepper version':16}  {'active':>8}  {'disabled':>8}")
    for version in versions:
        name = str(version) if version is not None else "not recorded"
        print(f"{name:16}  {usage.active.get(version, 0):>8}  {usage.disabled.get(version, 0):>8}")
    print(f"{usage.dead} revoked or expired key(s) depend on no pepper")
    if minting_version is not None:
        print(f"this configuration mints under version {minting_version}")
    if None in versions:
        print(
            "'not recorded': minted before keys recorded their pepper version, so under the "
            "version that was current then"
        )
    if retiring is None:
        return 0
    live, unrecorded = usage.live_on(retiring), usage.live_on(None)
    if live or unrecorded:
        print(
            f"version {retiring}: {live} live key(s) depend on it and {unrecorded} live key(s) "
            "may (not recorded); do not retire it yet"
        )
        return LIVE_KEYS_EXIT
    print(f"version {retiring}: no live key depends on it")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse: --help exits 0, a usage error 2 -> our 64
        return 64 if stop.code == 2 else int(stop.code or 0)
    environ = dict(os.environ)
    has_pepper = bool(environ.get("API_KEY_PEPPER") or environ.get("API_KEY_PEPPER_SECRET"))
    if arguments.command != "create" and not has_pepper:
        environ["API_KEY_PEPPER"] = _UNUSED_PEPPER  # these commands work by key id, never hash
    if (
        not os.environ.get("FIRESTORE_EMULATOR_HOST")
        and not os.environ.get("API_KEYS_DATABASE", "").strip()
    ):
        print(f"error: {NO_DATABASE_CHOSEN}", file=sys.stderr)
        return 64
    try:
        settings = Settings.from_env(environ)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 64
    from google.cloud import firestore

    client = firestore.Client(project=settings.project_id, database=settings.api_keys_database)
    collection = settings.api_keys_collection
    try:
        ensure_reachable(client, collection, PROBE_TIMEOUT_SECONDS)
        if arguments.command == "create":
            pepper = pepper_source(settings.api_key_pepper, settings.api_key_pepper_secret, 30.0)()
            created = create_key(
                client, collection, pepper, arguments.owner, arguments.label, arguments.expires,
                pepper_version=settings.api_key_pepper_version,
            )  # fmt: skip
            record = created.record
            if not _show_key_once(created.api_key):
                return _revoke_undelivered(client, collection, record.key_id)
            print("^ the API key, shown once: store it now (only its HMAC is kept)")
            print(f"key id:  {record.key_id}")
            print(f"prefix:  {record.prefix}")
            print(f"owner:   {record.owner}")
            print(f"pepper:  version {record.pepper_version}")
            print(f"expires: {record.expires_at.isoformat() if record.expires_at else 'never'}")
        elif arguments.command == "list":
            records = list_keys(client, collection, arguments.owner, arguments.pepper_version)
            _print_key_list(records, datetime.now(timezone.utc))
        elif arguments.command == "expire":
            when = arguments.at or datetime.now(timezone.utc)
            record = set_key_expiry(client, collection, arguments.key_id, when)
            assert record.expires_at is not None
            print(f"{record.prefix} ({record.key_id}) expires at {record.expires_at.isoformat()}")
            note = propagation_note(when, datetime.now(timezone.utc), settings)
            if note:
                print(note)
        elif arguments.command == "rebuild-index":
            report = rebuild_index(client, collection)
            statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.by_status.items()))
            print(
                f"indexed {report.keys} key(s) ({statuses or 'none'}): "
                f"{report.shards_written} shard(s) rewritten, {report.shards_unchanged} already "
                f"right; largest shard {report.largest_shard_bytes} bytes"
            )
        elif arguments.command == "check-index":
            check = check_index(client, collection)
            for problem in check.problems:
                print(f"problem: {problem}")
            state = "consistent" if check.consistent else f"{len(check.problems)} problem(s)"
            print(f"{check.keys} key document(s), index layout {check.layout}: {state}")
            return 0 if check.consistent else 1
        elif arguments.command == "pepper-usage":
            minting = settings.api_key_pepper_version if has_pepper else None
            return _print_pepper_usage(client, collection, minting, arguments.retiring)
        else:
            record = set_key_status(client, collection, arguments.key_id, arguments.command)
            print(f"{record.prefix} ({record.key_id}) is now {record.status}")
    except KeyAdminError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BackendUnavailable, ConfigError, DependencyMisconfigured) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - one-line reason for the operator
        where = os.environ.get("FIRESTORE_EMULATOR_HOST")
        print(f"error: {firestore_failure(error, settings, where)}", file=sys.stderr)
        return 2
    return 0


def _show_key_once(api_key: str) -> bool:
    """The key as the first line of stdout (so `| head -1` keeps it); False if it cannot have
    reached anyone: the reader is gone, or there is no stdout at all (`>&-`)."""
    try:
        sys.stdout.write(f"{api_key}\n")
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):  # no stdout, or a closed one
        return False
    return not getattr(sys.stdout, "reader_gone", False)


def _revoke_undelivered(client: object, collection: str, key_id: str) -> int:
    """The new key could not be written to stdout: nobody has it, so nobody may use it."""
    try:
        set_key_status(client, collection, key_id, "revoke")
    except Exception as error:  # noqa: BLE001 - the operator must act on this one
        print(
            f"error: the new key could not be shown (stdout closed) and revoking it failed "
            f"({type(error).__name__}): run `python -m key_admin revoke {key_id}`",
            file=sys.stderr,
        )
        return 2
    print(
        f"error: the new key could not be shown (stdout closed), so it was revoked "
        f"(key id {key_id}); run create again with its output kept",
        file=sys.stderr,
    )
    return 1


def firestore_failure(error: Exception, settings: Settings, emulator_host: str | None) -> str:
    """One line for the operator: which Firestore failed, why, and what to do."""
    from google.api_core import exceptions

    detail = (str(error).strip().splitlines() or [""])[0]
    if emulator_host:
        where = f"the Firestore emulator at {emulator_host} (FIRESTORE_EMULATOR_HOST)"
        advice = (
            "is `make run` running? Start it, or paste the export block of the one that is running"
        )
    else:
        where = (
            f"database {settings.api_keys_database} of project {settings.project_id} "
            "(Application Default Credentials)"
        )
        advice = (
            "check the network, `gcloud auth application-default login`, and that the "
            "database exists"
        )
    if isinstance(error, exceptions.ServiceUnavailable | exceptions.DeadlineExceeded):
        cause = detail.rsplit(": ", 1)[-1] or type(error).__name__  # e.g. Connection refused
        return f"Firestore failed: cannot reach {where}: {cause}; {advice}"
    return f"Firestore failed on {where}: {type(error).__name__}: {detail}"


if __name__ == "__main__":
    sys.exit(run_tolerating_a_closed_pipe(main))

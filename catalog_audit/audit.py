"""Every served model against every dataset given: prices, limits, capabilities, lifecycle.

What is compared is what customers are SOLD: the served credits (margin included) of every
billed field against the dataset's upstream USD price x margin. A served price below that
floor is a failure that loses money on every request (`below_cost`); a served model past the
dataset's shutdown date is a failure customers feel (`past_shutdown`). A served price whose
`pricing.valid_until` has passed (`price_expired`) or ends within PRICE_EXPIRY_WARNING_DAYS
(`price_expiring`) comes from the catalog alone, whatever the datasets say.

The daily drift check alerts on nine findings (one alert each, plus one for a run that did not
complete): below_cost, past_shutdown, price_expired, price_expiring, price_change_not_seeded,
endpoint_unrecorded, max_price_refuses, max_price_above_charge, upstream_renamed. Every other
finding is only logged (levels in FINDING_KINDS below).

Coverage: a served model is confirmed when a dataset that is NOT the one its price was read
from (the dataset named in the first part of its `price_source`, before any ";") lists it,
states its base prices, and agrees with them. A model the platform prices itself
(`price_basis` "runs on X") is audited with the prices, upstream ids and source of the model
it runs on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from catalog_audit.datasets import (
    GENAI_PRICES,
    LITELLM,
    MODELS_DEV,
    OPENROUTER,
    Dataset,
    Facts,
    Routed,
    genai_prices_id,
)
from catalog_audit.left_out import LeftOut
from catalog_audit.review_file import array_of_tables, date_field
from catalog_seed.pricing import PricingPolicy
from models_api.catalog.model_schema import (
    InvalidCatalogDocument,
    Model,
    iso_instant,
    model_from_document,
)

FAILURE, WARNING, NOTE = "failure", "warning", "note"
# kind -> (level, raises the drift check's alert)
FINDING_KINDS: dict[str, tuple[str, bool]] = {
    "below_cost": (FAILURE, True),  # served price < upstream price x margin
    "past_shutdown": (FAILURE, True),  # served, and the dataset's shutdown date has come
    "price_expired": (FAILURE, True),  # served after its price's valid_until
    "price_expiring": (WARNING, True),  # its price's valid_until is at most 14 days away
    "price_change_not_seeded": (FAILURE, True),  # a dated upstream price we would sell below
    "endpoint_unrecorded": (FAILURE, True),  # an allowed endpoint (or variant) with no price
    "max_price_refuses": (FAILURE, True),  # the cap is below an allowed endpoint's price
    "max_price_above_charge": (FAILURE, True),  # the cap lets a request cost more than we charge
    "upstream_renamed": (WARNING, True),  # the upstream id now names another model
    "newer_model_available": (WARNING, False),  # a newer model of a served family is not served
    "price_change_scheduled": (NOTE, False),  # a price ends and the next one is already seeded
    "price_differs": (FAILURE, False),  # served price above the price it should equal
    "not_charged": (FAILURE, False),  # the upstream bills a way we do not charge
    "no_allowed_endpoint": (FAILURE, False),  # routing allows no endpoint the dataset lists
    "dataset_matches_nothing": (FAILURE, False),  # a dataset that lists no served model
    "not_listed": (WARNING, False),  # the dataset does not (or no longer) list the model
    "endpoint_missing": (WARNING, False),  # one allowed endpoint is not listed
    "shutdown_date": (WARNING, False),  # the dataset's shutdown date differs from ours
    "deprecated_upstream": (WARNING, False),  # the dataset calls it deprecated, we do not
    "capability": (WARNING, False),  # we claim tools/vision the dataset says it lacks
    "limit": (WARNING, False),  # we promise more output tokens than the dataset allows
    "limit_differs": (NOTE, False),  # other limit/capability differences
    "above_listing": (NOTE, False),  # above a single listing price: routing covers dearer hosts
    "price_not_in_dataset": (NOTE, False),  # a price only we state
    "uncovered": (WARNING, False),  # no independent dataset confirmed the model
}
# From this many days before a price's valid_until, the audit warns (and the drift check alerts):
# two weeks of daily reminders to read the next price and seed it.
PRICE_EXPIRY_WARNING_DAYS = 14
CATALOG = "catalog"  # the `dataset` of a finding that comes from the catalog alone
_CITED_NAMES = (("models.dev", MODELS_DEV), ("litellm", LITELLM), ("openrouter", OPENROUTER),
                ("genai-prices", GENAI_PRICES))  # fmt: skip
_RUNS_ON = re.compile(r"runs on ([a-z0-9][a-z0-9._-]*)")
_BASE_PRICES_TOKEN = ("input_per_1m", "output_per_1m")
_BASE_PRICES_IMAGE = ("input_per_1m", "per_image_output")


@dataclass(frozen=True)
class AuditedModel:
    """A served model with what the audit needs besides: upstream ids and the cited dataset."""

    model: Model
    upstream: dict[str, str]
    cited: str | None  # the dataset its price was read from (None: a provider's own page)
    runs_on: str | None = None
    priced_provider: str = ""  # the provider of the model whose price it is (runs_on's)
    recorded_endpoints: tuple[str, ...] = ()  # routing_endpoints' slugs

    @property
    def data_file(self) -> str:
        """Where the model's data lives (catalog_seed/models/<provider>.toml)."""
        return f"catalog_seed/models/{self.model.provider}.toml"

    @property
    def routed(self) -> Routed | None:
        routing = self.model.routing
        if routing is None:
            return None
        return Routed(model=routing.model, only=tuple(routing.only), ignore=tuple(routing.ignore))

    def upstream_id(self, kind: str) -> str | None:
        routed = self.routed
        if kind == OPENROUTER and routed is not None:
            return routed.model
        if kind == GENAI_PRICES and kind not in self.upstream:
            return genai_prices_id(
                self.priced_provider or self.model.provider,
                routed.model if routed is not None else None,
                self.upstream.get(LITELLM),
            )
        return self.upstream.get(kind)


@dataclass(frozen=True)
class Finding:
    model: str
    dataset: str
    kind: str
    detail: str
    field: str = ""
    ours: str = ""
    theirs: str = ""
    fix: str = ""  # the data edit that resolves it: file, model, field, value, source
    source: str = ""  # the dataset and its version (file or URL) the finding comes from
    acknowledged: str = ""  # why it was reviewed and accepted (catalog_seed/acknowledgements.toml)

    @property
    def level(self) -> str:
        return FINDING_KINDS[self.kind][0]

    @property
    def alert(self) -> bool:
        return FINDING_KINDS[self.kind][1] and not self.acknowledged

    @property
    def counts(self) -> bool:
        """Whether it can fail a run: an acknowledged finding is reported, nothing more."""
        return not self.acknowledged

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "dataset_source": self.source or None,
            "finding": self.kind,
            "level": self.level,
            "alert": self.alert,
            "field": self.field or None,
            "ours": self.ours or None,
            "theirs": self.theirs or None,
            "detail": self.detail,
            "fix": self.fix or None,
            "acknowledged": self.acknowledged or None,
        }


@dataclass
class AuditReport:
    served: list[str]
    datasets: list[str]
    findings: list[Finding] = field(default_factory=list)
    confirmed: dict[str, list[str]] = field(default_factory=dict)  # model -> datasets
    unconfirmed: dict[str, list[str]] = field(default_factory=dict)  # model -> reasons

    @property
    def uncovered(self) -> list[str]:
        return [model_id for model_id in self.served if not self.confirmed.get(model_id)]

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level and f.counts)

    def failed(self, require_coverage: bool) -> bool:
        return self.count(FAILURE) > 0 or (require_coverage and bool(self.uncovered))

    def lines(self, today: dt.date) -> list[str]:
        out = [f"audit of {len(self.served)} served model(s) on {today.isoformat()} against:"]
        out += [f"  {described}" for described in self.datasets]
        order = {FAILURE: 0, WARNING: 1, NOTE: 2}
        shown = sorted(
            (f for f in self.findings if f.kind != "uncovered"),
            key=lambda f: (order[f.level], f.model, f.dataset, f.field),
        )
        if shown:
            out.append(
                "prices: ours in credits (margin included) per 1k tokens or per image; theirs "
                "in upstream US$ per 1M tokens or per image, then x margin in credits"
            )
            header = ("level", "model", "dataset", "finding", "field")
            out.append("{:8} {:24} {:10} {:21} {:30} detail".format(*header))
        for finding in shown:
            level = "ack" if finding.acknowledged else finding.level
            out.append(
                f"{level:8} {finding.model:24} {finding.dataset:10} {finding.kind:21} "
                f"{finding.field or '-':30} {finding.detail}"
            )
            if finding.fix:
                out.append(f"{'':8} fix: {finding.fix}")
            if finding.acknowledged:
                out.append(f"{'':8} acknowledged: {finding.acknowledged}")
        covered = len(self.served) - len(self.uncovered)
        out.append(
            f"coverage: {covered} of {len(self.served)} served model(s) confirmed by an "
            "independent dataset (not the one its price was read from)"
        )
        for finding in self.findings:
            if finding.kind == "uncovered":
                out.append(f"  not confirmed: {finding.model}: {finding.detail}")
        kinds = Counter(f.kind for f in self.findings if f.level == FAILURE and f.counts)
        by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        out.append(
            f"{self.count(FAILURE)} failure(s){f' ({by_kind})' if by_kind else ''}, "
            f"{self.count(WARNING)} warning(s), {self.count(NOTE)} note(s)"
        )
        return out


# --- the served set --------------------------------------------------------------------------


def cited_dataset(source: str) -> str | None:
    """The dataset a price was read from: the one named in the first part of its source.

    Sources read "<where it was read>; <cross-checks>", e.g. "platform.claude.com/... pricing;
    same in LiteLLM 1.110.2": that price was read from the provider's page (None), and LiteLLM
    agreeing is an independent confirmation.
    """
    lowered = source.split(";", 1)[0].lower()
    found = [(lowered.find(name), kind) for name, kind in _CITED_NAMES if name in lowered]
    return min(found)[1] if found else None


def served_models(
    documents: Iterable[tuple[str, dict[str, Any]]], today: dt.date
) -> tuple[list[AuditedModel], list[str]]:
    """The models served on `today` from catalog documents, and the documents left out (why)."""
    by_id = dict(documents)
    served, problems = [], []
    for doc_id, data in sorted(by_id.items()):
        if data.get("status", "active") != "active" or "pricing" not in data:
            continue
        try:
            model = model_from_document(doc_id, data).priced_at(_midnight(today))
        except InvalidCatalogDocument as error:
            problems.append(f"{doc_id}: not served, invalid: {error}")
            continue
        if not model.is_served_on(today):
            continue
        runs_on_match = _RUNS_ON.search(str(data.get("price_basis", "")))
        runs_on = runs_on_match.group(1) if runs_on_match else None
        priced_by = by_id.get(runs_on, {}) if runs_on else data
        upstream = priced_by.get("upstream") or {}
        served.append(
            AuditedModel(
                model=model,
                upstream={k: v for k, v in upstream.items() if isinstance(v, str)},
                cited=cited_dataset(str(priced_by.get("price_source", ""))),
                runs_on=runs_on,
                priced_provider=str(priced_by.get("provider", "")),
                recorded_endpoints=tuple(
                    str(endpoint.get("slug"))
                    for endpoint in data.get("routing_endpoints") or []
                    if isinstance(endpoint, dict)
                ),
            )
        )
    return served, problems


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def served_prices(model: Model) -> dict[str, Decimal]:
    """The model's billed prices in credits, under the audit's field names."""
    pricing = model.pricing
    prices: dict[str, float | None] = {
        "input_per_1m": pricing.input_per_1k_tokens,
        "cached_input_per_1m": pricing.cached_input_per_1k_tokens,
        "cache_write_per_1m": pricing.cache_write_per_1k_tokens,
        "audio_input_per_1m": pricing.audio_input_per_1k_tokens,
    }
    if pricing.billed_per == "image":
        prices["per_image_output"] = pricing.output_per_image
    else:
        prices["output_per_1m"] = pricing.output_per_1k_tokens
    for tier in pricing.long_context_tiers:
        # Datasets name a tier by where it starts in thousands (200k), whether the price starts
        # above 200,000 prompt tokens or at it: every tier is compared.
        name = f"tier_{(tier.above_input_tokens + 1) // 1000}k"
        prices[f"{name}.input_per_1m"] = tier.input_per_1k_tokens
        prices[f"{name}.output_per_1m"] = tier.output_per_1k_tokens
        prices[f"{name}.cached_input_per_1m"] = tier.cached_input_per_1k_tokens
        prices[f"{name}.cache_write_per_1m"] = tier.cache_write_per_1k_tokens
    return {name: Decimal(str(value)) for name, value in prices.items() if value is not None}


# --- comparison ------------------------------------------------------------------------------


def audit(
    models: list[AuditedModel],
    datasets: list[Dataset],
    policy: PricingPolicy,
    today: dt.date,
    acknowledgements: Iterable[Acknowledgement] = (),
    left_out: Mapping[str, LeftOut] | None = None,
) -> AuditReport:
    report = AuditReport(
        served=[m.model.id for m in models], datasets=[d.describe() for d in datasets]
    )
    report.findings += price_validity_findings(models, today)
    for dataset in datasets:
        listed = 0
        for audited in models:
            found = _audit_one(audited, dataset, policy, today, report)
            listed += found
        if models and listed == 0:
            report.findings.append(
                Finding(
                    "-",
                    dataset.kind,
                    "dataset_matches_nothing",
                    f"{dataset.describe()} lists none of the {len(models)} served models "
                    "under their upstream ids: a wrong or truncated file?",
                )
            )
    for dataset in datasets:
        if dataset.kind == GENAI_PRICES:
            report.findings += newer_model_findings(models, dataset, left_out or {}, today)
    for audited in models:
        model_id = audited.model.id
        if not report.confirmed.get(model_id):
            report.findings.append(
                Finding(model_id, "-", "uncovered", _why_uncovered(audited, datasets, report))
            )
    report.findings = apply_acknowledgements(report.findings, list(acknowledgements), today)
    return report


_VERSION_PART = re.compile(r"^\d{1,3}$")


def model_family(name: str) -> tuple[str, tuple[int, ...]] | None:
    """("gpt sol", (6, 2)) for gpt-6.2-sol: the words name the family, the numbers its
    version. None for a dated snapshot or a variant that is not a model of its own."""
    parts = [part for part in re.split(r"[-./:_ ]", name.lower()) if part]
    if any(part.isdigit() and not _VERSION_PART.match(part) for part in parts):
        return None  # a dated snapshot (2025-08-07, 0731)
    if any(part in _NOT_A_NEW_MODEL for part in parts):
        return None
    words = " ".join(part for part in parts if not part.isdigit() and not part.startswith("@"))
    version = tuple(int(part) for part in parts if part.isdigit())
    return (words, version) if words and version else None


_NOT_A_NEW_MODEL = {"batch", "free", "latest", "preview", "exp", "tts", "live", "image",
                    "audio", "realtime", "search", "highspeed", "thinking", "beta"}  # fmt: skip


def newer_model_findings(
    models: list[AuditedModel],
    dataset: Dataset,
    left_out: Mapping[str, LeftOut] | None = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """A model of a served family with a higher version that the catalog does not serve: the
    newest one not left out counts; each one left out (catalog_audit/left_out.py) is reported
    with its recorded reason and counts only once its record has expired."""
    left_out = left_out or {}
    served_ids = {m.upstream_id(GENAI_PRICES) for m in models}
    newest_served: dict[tuple[str, str], tuple[tuple[int, ...], AuditedModel]] = {}
    for audited in models:
        upstream_id = audited.upstream_id(GENAI_PRICES)
        if upstream_id is None or audited.runs_on is not None:
            continue
        provider, _, name = upstream_id.partition("/")
        served_family = model_family(name)
        if served_family is None:
            continue
        key = (provider, served_family[0])
        if key not in newest_served or newest_served[key][0] < served_family[1]:
            newest_served[key] = (served_family[1], audited)
    findings = []
    for (provider, words), (version, audited) in sorted(newest_served.items()):
        family = (words, version)
        newer = sorted(
            (candidate_family[1], candidate)
            for candidate in dataset.model_ids(provider)
            if f"{provider}/{candidate}" not in served_ids
            and (candidate_family := model_family(candidate)) is not None
            and candidate_family[0] == family[0]
            and candidate_family[1] > family[1]
        )
        recorded = {name: left_out.get(f"{provider}/{name}") for _, name in newer}
        current = {
            name
            for name, record in recorded.items()
            if record is not None and (today is None or record.applies_on(today))
        }
        findings += [_newer_model(audited, dataset, provider, name, recorded[name], True)
                     for _, name in newer if name in current]  # fmt: skip
        counted = [name for _, name in newer if name not in current]
        if counted:
            newest = counted[-1]
            findings.append(
                _newer_model(audited, dataset, provider, newest, recorded[newest], False)
            )
    return findings


def _newer_model(
    audited: AuditedModel,
    dataset: Dataset,
    provider: str,
    newest: str,
    record: LeftOut | None,
    record_applies: bool,
) -> Finding:
    """A newer model's finding; one left out carries its record as the acknowledgement."""
    expired = "" if record is None or record_applies else (
        f" [left out until {record.until.isoformat()}: review it again]")  # fmt: skip
    fix = (f"{audited.data_file}: add a [[models]] entry for {newest} with its limits, "
           f"capabilities and price (source: {dataset.describe()})")  # fmt: skip
    if record is not None:
        fix += (f"; or, after review, move the until of its [[left_out]] record (upstream "
                f"{provider}/{newest}) in catalog_seed/acknowledgements.toml")  # fmt: skip
    return Finding(
        audited.model.id,
        dataset.kind,
        "newer_model_available",
        f"{provider}/{newest} is newer in its family and not served{expired}",
        "id",
        audited.model.id,
        newest,
        fix,
        dataset.describe(),
        record.described() if record is not None and record_applies else "",
    )


def price_validity_findings(models: list[AuditedModel], today: dt.date) -> list[Finding]:
    """Served prices that have ended (`price_expired`) or end within the warning window; a
    price whose next one is already seeded from the day after is a note
    (`price_change_scheduled`): the service switches by itself."""
    findings = []
    for audited in models:
        model, valid_until = audited.model, audited.model.pricing.valid_until
        if valid_until is None:
            continue
        days_left = (valid_until - today).days
        until = valid_until.isoformat()
        day_after = _midnight(valid_until + dt.timedelta(days=1))
        following = [c for c in model.price_changes if c.effective_at <= day_after]
        where = f"{audited.data_file}, model {audited.runs_on or model.id}"
        fix = (f"{where}: add [[models.price.changes]] effective = "
               f"{day_after.date().isoformat()} with the provider's next price, its source and "
               "checked date")  # fmt: skip
        if following and days_left <= PRICE_EXPIRY_WARNING_DAYS:
            change = following[0]
            detail = (f"the upstream price holds until {until}; the next price "
                      f"({change.cost_per_1k_input:g} / {change.cost_per_1k_output:g} credits "
                      f"per 1k input / output) is seeded from {iso_instant(change.effective_at)}:"
                      " the service switches by itself")  # fmt: skip
            kind, fix = "price_change_scheduled", ""
        elif not model.pricing.is_valid_on(today):
            detail = (f"the upstream price it was derived from ended on {until} and it is still "
                      "sold at it; no next price is seeded")  # fmt: skip
            kind = "price_expired"
        elif days_left <= PRICE_EXPIRY_WARNING_DAYS:
            detail = (f"the upstream price it was derived from holds until {until} "
                      f"({days_left} day(s) left) and no next price is seeded")  # fmt: skip
            kind = "price_expiring"
        else:
            continue
        findings.append(
            Finding(model.id, CATALOG, kind, detail, "pricing.valid_until", until, fix=fix)
        )
    return findings


# --- acknowledgements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    """A reviewed finding: reported, but it neither fails the run nor alerts until `until`."""

    finding: str
    model: str
    reason: str
    until: dt.date
    field: str = ""  # the finding's field, when only that one is acknowledged


class AcknowledgementError(ValueError):
    """The acknowledgements file cannot be read; the message names the file and field."""


def load_acknowledgements(path: Path) -> list[Acknowledgement]:
    """`[[acknowledged]]` tables: finding, model, reason, until (a date), optionally field."""
    found = []
    for where, entry in array_of_tables(path, "acknowledged", AcknowledgementError):
        for name in ("finding", "model", "reason"):
            if not isinstance(entry.get(name), str) or not entry[name]:
                raise AcknowledgementError(f"{where}.{name}: must be a non-empty string")
        if entry["finding"] not in FINDING_KINDS:
            raise AcknowledgementError(f"{where}.finding: {entry['finding']!r} is no finding")
        until = date_field(entry, "until", where, AcknowledgementError)
        unknown = sorted(set(entry) - {"finding", "model", "reason", "until", "field"})
        if unknown:
            raise AcknowledgementError(f"{where}.{unknown[0]}: unknown field")
        if not isinstance(entry.get("field", ""), str):
            raise AcknowledgementError(f"{where}.field: must be a string")
        found.append(
            Acknowledgement(
                entry["finding"], entry["model"], entry["reason"], until, entry.get("field", "")
            )  # fmt: skip
        )
    return found


def apply_acknowledgements(
    findings: list[Finding], acknowledgements: list[Acknowledgement], today: dt.date
) -> list[Finding]:
    """Findings with their acknowledgement applied while it lasts; an expired one says so."""
    result = []
    for finding in findings:
        match = next((a for a in acknowledgements
                      if (a.finding, a.model) == (finding.kind, finding.model)
                      and a.field in ("", finding.field)), None)  # fmt: skip
        if match is not None and today <= match.until:
            finding = replace(finding, acknowledged=f"{match.reason} (until {match.until})")
        elif match is not None:
            finding = replace(finding, detail=f"{finding.detail} [acknowledgement expired on "
                              f"{match.until}: review it again]")  # fmt: skip
        result.append(finding)
    return result


def _why_uncovered(audited: AuditedModel, datasets: list[Dataset], report: AuditReport) -> str:
    reasons = list(report.unconfirmed.get(audited.model.id, []))
    unmapped = [d.kind for d in datasets if audited.upstream_id(d.kind) is None]
    if unmapped:
        reasons.append(f"no upstream id for {', '.join(unmapped)} in its data")
    return "; ".join(reasons) or "no dataset given"


def _audit_one(
    audited: AuditedModel,
    dataset: Dataset,
    policy: PricingPolicy,
    today: dt.date,
    report: AuditReport,
) -> bool:
    """Compare one model with one dataset; True when the dataset lists it."""
    model = audited.model
    upstream_id = audited.upstream_id(dataset.kind)
    if upstream_id is None:
        return False
    routed = audited.routed if dataset.kind == OPENROUTER else None
    facts = dataset.facts(upstream_id, routed, today)
    label = model.id
    findings = report.findings
    source = dataset.describe()

    def add(
        kind: str, detail: str, name: str = "", ours: str = "", theirs: str = "", fix: str = ""
    ) -> None:
        cited = f"{source}: {facts.basis if facts else ''}"
        if not fix and theirs and theirs != "-" and name in _DATA_FIELDS:
            fix = f"{audited.data_file}, model {label}: set {name} = {theirs} (source: {cited})"
        elif not fix and theirs and theirs != "-" and _is_price_name(name):
            fix = _price_fix(audited, name, theirs, cited)
        findings.append(Finding(label, dataset.kind, kind, detail, name, ours, theirs, fix, source))

    if facts is None:
        add("not_listed", f"{dataset.kind} does not list {upstream_id}: retired or renamed "
            "upstream? Check the provider's deprecations page")  # fmt: skip
        report.unconfirmed.setdefault(model.id, []).append(f"{dataset.kind} does not list it")
        return False
    before = len(findings)
    on = f" (prices of {audited.runs_on})" if audited.runs_on else ""
    if facts.per_allowed_endpoints and not facts.prices:
        allowed = ", ".join(routed.only if routed else ())
        add("no_allowed_endpoint", f"{upstream_id}: none of the endpoints the routing allows "
            f"({allowed}) is listed: routed requests fail")  # fmt: skip
    for slug in facts.missing_endpoints if facts.prices else ():
        add("endpoint_missing", f"{upstream_id}: allowed endpoint {slug} is not listed")
    if facts.name and audited.runs_on is None and not _same_model(model.name, facts.name):
        add("upstream_renamed", f"{upstream_id} is now {facts.name!r} ({facts.basis}); we "
            f"describe {model.name!r}", "name", model.name, facts.name,
            f"{audited.data_file}, model {model.id}: read the provider's page for "
            f"{facts.name}, then set name, limits, supports_* and price, or move the id "
            f"(source: {source})")  # fmt: skip
    _compare_prices(audited, facts, policy, add, on)
    _compare_price_changes(audited, facts, policy, add, source)
    if facts.per_allowed_endpoints:
        _compare_endpoints(audited, facts, policy, add, source)
    if audited.runs_on is None:  # a platform model's limits are its own, not its base's
        _compare_limits(audited, facts, add)
    _compare_lifecycle(model, facts, today, add, upstream_id)
    failed_prices = any(
        f.level == FAILURE and f.model == label and f.dataset == dataset.kind
        for f in findings[before:]
    )
    base = _BASE_PRICES_IMAGE if model.pricing.billed_per == "image" else _BASE_PRICES_TOKEN
    states_base = all(name in facts.prices for name in base)
    if dataset.kind == audited.cited:
        reason = f"its price was read from {dataset.kind}, which cannot confirm it"
    elif not states_base:
        reason = f"{dataset.kind} states no base price for it ({facts.basis})"
    elif failed_prices:
        reason = f"{dataset.kind} disagrees (see its failures)"
    else:
        report.confirmed.setdefault(model.id, []).append(dataset.kind)
        return True
    report.unconfirmed.setdefault(model.id, []).append(reason)
    return True


_DATA_FIELDS = ("context_window", "max_output_tokens", "supports_tools", "supports_vision",
                "retirement_date", "lifecycle")  # fmt: skip


def _is_price_name(name: str) -> bool:
    return name.endswith("_per_1m") or name == "per_image_output"


def _price_fix(audited: AuditedModel, name: str, usd: str, source: str) -> str:
    """The data edit that makes a price field what the dataset says (upstream USD)."""
    field_name = name.replace("tier_", "price.tiers[above ").replace("k.", "000].", 1)
    if not name.startswith("tier_"):
        field_name = f"price.{name}"
    where = f"{audited.data_file}, model {audited.runs_on or audited.model.id}"
    if audited.routed is not None:
        return (f"{where}: set {field_name} = \"{usd}\" and the [[models.routing.endpoints]] "
                f"that charge it, then routing.max_price (source: {source})")  # fmt: skip
    return f'{where}: set {field_name} = "{usd}" (source: {source})'


def _compare_price_changes(
    audited: AuditedModel, facts: Facts, policy: PricingPolicy, add: Any, source: str
) -> None:
    """A price the dataset says takes effect later must be seeded by then, at or above cost."""
    for start, prices in facts.price_changes:
        ours_then = served_prices(audited.model.priced_at(_midnight(start)))
        short = [
            (name, theirs)
            for name, theirs in sorted(prices.items())
            if name in ours_then and ours_then[name] < _floor(policy, name, theirs)
        ]
        if not short:
            continue
        values = ", ".join(f'{name} = "{_n(usd)}"' for name, usd in short)
        where = f"{audited.data_file}, model {audited.runs_on or audited.model.id}"
        fix = (f"{where}: add [[models.price.changes]] effective = {start.isoformat()}, "
               f"{values} (source: {source}: {facts.basis}, from {start.isoformat()})")  # fmt: skip
        if audited.routed is not None:
            fix = (f"{where}: on {start.isoformat()} set the endpoints' and the model's "
                   f"prices to {values}, and routing.max_price (source: {source}: "
                   f"{facts.basis})")  # fmt: skip
        name, theirs = short[0]
        add("price_change_not_seeded", f"from {start.isoformat()} upstream charges "
            f"US${_n(theirs)} ({facts.basis}); we would sell at {_n(ours_then[name])} credits, "
            "below cost", name, _n(ours_then[name]), _n(theirs), fix)  # fmt: skip


def _compare_endpoints(
    audited: AuditedModel, facts: Facts, policy: PricingPolicy, add: Any, source: str
) -> None:
    """Every allowed endpoint (variants included) is priced in the data, and the cap holds."""
    routing = audited.model.routing
    where = f"{audited.data_file}, model {audited.model.id}"
    for slug in facts.endpoint_slugs:
        if slug not in audited.recorded_endpoints:
            add("endpoint_unrecorded", f"OpenRouter lists allowed endpoint {slug} ({facts.basis}) "
                "and the data records no price for it", "routing.endpoints", "-", slug,
                f"{where}: add [[models.routing.endpoints]] slug = \"{slug}\" with its prices "
                f"(source: {source}), or add \"{slug}\" to routing.ignore")  # fmt: skip
    caps = dict(routing.max_price) if routing is not None else {}
    ours = served_prices(audited.model)
    for cap_name, field_name in (("prompt", "input_per_1m"), ("completion", "output_per_1m")):
        cap = caps.get(cap_name)
        if cap is None:
            continue
        cap_usd = Decimal(str(cap))
        highest = facts.prices.get(field_name)
        if highest is not None and highest > cap_usd:
            add("max_price_refuses", f"an allowed endpoint charges US${_n(highest)} "
                f"({facts.basis}), above the cap US${_n(cap_usd)}: its requests are refused",
                f"routing.max_price.{cap_name}", _n(cap_usd), _n(highest),
                f"{where}: set the endpoint's prices, the model's price and "
                f"routing.max_price.{cap_name} = \"{_n(highest)}\" (source: {source})")  # fmt: skip
        charged = ours.get(field_name)
        if charged is None:
            continue
        ceiling = charged * policy.usd_per_credit * 1000 / policy.margin
        if cap_usd > ceiling:
            add("max_price_above_charge", f"the cap US${_n(cap_usd)} is above our price / "
                f"{policy.margin} = US${_n(ceiling)}: a request could cost more than we charge",
                f"routing.max_price.{cap_name}", _n(cap_usd), _n(ceiling),
                f"{where}: set routing.max_price.{cap_name} = \"{_n(ceiling)}\" or raise the "
                "price")  # fmt: skip


def _same_model(ours: str, theirs: str) -> bool:
    """Names that differ only in case, punctuation or a suffix ("Preview") name one model."""
    a, b = (re.sub(r"[^a-z0-9]", "", name.lower()) for name in (ours, theirs))
    return bool(a) and bool(b) and (a in b or b in a)


def _per_billed_unit(name: str, usd: Decimal) -> Decimal:
    """An upstream price per image as it is; one per 1M tokens per 1k tokens, as we bill it."""
    return usd if name == "per_image_output" else usd / Decimal(1000)


def _floor(policy: PricingPolicy, name: str, usd: Decimal) -> Decimal:
    """The least a field may be sold for, in credits: upstream price x margin, exactly."""
    return policy.exact_credits(_per_billed_unit(name, usd))


def _rounded(policy: PricingPolicy, name: str, usd: Decimal) -> Decimal:
    """What the seed would charge for this upstream price (margin, rounded up)."""
    return Decimal(str(policy.credits(_per_billed_unit(name, usd))))


def _compare_prices(
    audited: AuditedModel, facts: Facts, policy: PricingPolicy, add: Any, on: str
) -> None:
    ours_all = served_prices(audited.model)
    # Our price must EQUAL theirs x margin when this dataset states the price we charge: the
    # endpoints data for a routed model, any dataset for a model with a single upstream.
    exact = facts.per_allowed_endpoints or audited.routed is None
    for name in sorted(set(ours_all) | set(facts.prices)):
        ours, theirs = ours_all.get(name), facts.prices.get(name)
        if theirs is None:
            if ours is not None:
                add("price_not_in_dataset", f"the dataset states no price{on}", name, _n(ours))
            continue
        if ours is None:
            if theirs > 0:
                add("not_charged", f"upstream bills US${_n(theirs)} ({facts.basis}){on}; "
                    "we charge nothing for it", name, "-", _n(theirs))  # fmt: skip
            continue
        floor = _floor(policy, name, theirs)
        expected = _rounded(policy, name, theirs)
        shown = (name, _n(ours), _n(theirs))
        if ours < floor:
            add("below_cost", f"sold at {_n(ours)} credits, below US${_n(theirs)} x "
                f"{policy.margin} = {_n(floor)} ({facts.basis}){on}", *shown)  # fmt: skip
        elif ours != expected:
            kind = "price_differs" if exact else "above_listing"
            add(kind, f"sold at {_n(ours)} credits; US${_n(theirs)} x {policy.margin} is "
                f"{_n(expected)} ({facts.basis}){on}", *shown)  # fmt: skip


def _compare_limits(audited: AuditedModel, facts: Facts, add: Any) -> None:
    model = audited.model
    if facts.max_output_tokens is not None and model.max_output_tokens > facts.max_output_tokens:
        add("limit", f"we promise {model.max_output_tokens} output tokens, the dataset "
            f"{facts.max_output_tokens} ({facts.basis})", "max_output_tokens",
            str(model.max_output_tokens), str(facts.max_output_tokens))  # fmt: skip
    elif facts.max_output_tokens is not None and model.max_output_tokens != facts.max_output_tokens:
        add("limit_differs", f"the dataset states {facts.max_output_tokens}", "max_output_tokens",
            str(model.max_output_tokens), str(facts.max_output_tokens))  # fmt: skip
    if facts.context_window is not None and model.context_window != facts.context_window:
        input_only = "; LiteLLM states the input limit only" if "key " in facts.basis else ""
        add("limit_differs", f"the dataset states {facts.context_window} ({facts.basis}"
            f"{input_only})", "context_window",
            str(model.context_window), str(facts.context_window))  # fmt: skip
    for name in ("supports_tools", "supports_vision"):
        ours, theirs = getattr(model, name), getattr(facts, name)
        if theirs is None or ours == theirs:
            continue
        kind = "capability" if ours and not theirs else "limit_differs"
        add(kind, f"we say {ours}, the dataset {theirs} ({facts.basis})", name,
            str(ours), str(theirs))  # fmt: skip


def _compare_lifecycle(
    model: Model, facts: Facts, today: dt.date, add: Any, upstream_id: str
) -> None:
    shutdown, ours = facts.shutdown_date, model.retirement_date
    if shutdown is not None:
        text = (shutdown.isoformat(), ours.isoformat() if ours else "-")
        if shutdown <= today:
            add("past_shutdown", f"{upstream_id} shut down upstream on {shutdown.isoformat()} "
                f"and is still served; ours: {text[1]}", "retirement_date", text[1],
                text[0])  # fmt: skip
        elif ours is None or ours > shutdown:
            add("shutdown_date", f"{upstream_id} shuts down upstream on {shutdown.isoformat()}; "
                f"ours: {text[1]}: set retirement_date and a replacement", "retirement_date",
                text[1], text[0])  # fmt: skip
        elif ours != shutdown:
            add("limit_differs", f"we retire it on {ours.isoformat()}, before the upstream "
                f"shutdown {shutdown.isoformat()}", "retirement_date", *reversed(text))  # fmt: skip
    if facts.deprecated and model.lifecycle != "deprecated":
        add("deprecated_upstream", f"the dataset marks {upstream_id} deprecated; ours is "
            f"{model.lifecycle}", "lifecycle", model.lifecycle, "deprecated")  # fmt: skip


def _n(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text if "." not in text else text[: text.index(".") + 11].rstrip("0").rstrip(".")

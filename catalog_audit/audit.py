"""Every served model against every dataset given: prices, limits, capabilities, lifecycle.

What is compared is what customers are SOLD: the served credits (margin included) of every
billed field against the dataset's upstream USD price x margin. A served price below that
floor is a failure that loses money on every request (`below_cost`); a served model past the
dataset's shutdown date is a failure customers feel (`past_shutdown`). Both raise the drift
check's alert. So do a served price whose `pricing.valid_until` has passed (`price_expired`, a
failure: the upstream may now charge more) and one that ends within PRICE_EXPIRY_WARNING_DAYS
(`price_expiring`, a warning that alerts so the next price is seeded in time); both come from
the catalog alone, whatever the datasets say. Other findings (levels in FINDING_KINDS below)
are reported.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from catalog_audit.datasets import (
    LITELLM,
    LONG_PROMPT_THRESHOLD,
    MODELS_DEV,
    OPENROUTER,
    Dataset,
    Facts,
    Routed,
)
from catalog_seed.pricing import PricingPolicy
from models_api.catalog.model_schema import InvalidCatalogDocument, Model, model_from_document

FAILURE, WARNING, NOTE = "failure", "warning", "note"
# kind -> (level, raises the drift check's alert)
FINDING_KINDS: dict[str, tuple[str, bool]] = {
    "below_cost": (FAILURE, True),  # served price < upstream price x margin
    "past_shutdown": (FAILURE, True),  # served, and the dataset's shutdown date has come
    "price_expired": (FAILURE, True),  # served after its price's valid_until
    "price_expiring": (WARNING, True),  # its price's valid_until is at most 14 days away
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
_CITED_NAMES = (("models.dev", MODELS_DEV), ("litellm", LITELLM), ("openrouter", OPENROUTER))
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

    @property
    def routed(self) -> Routed | None:
        routing = self.model.routing
        if routing is None:
            return None
        return Routed(model=routing.model, only=tuple(routing.only))

    def upstream_id(self, kind: str) -> str | None:
        routed = self.routed
        if kind == OPENROUTER and routed is not None:
            return routed.model
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

    @property
    def level(self) -> str:
        return FINDING_KINDS[self.kind][0]

    @property
    def alert(self) -> bool:
        return FINDING_KINDS[self.kind][1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "finding": self.kind,
            "level": self.level,
            "alert": self.alert,
            "field": self.field or None,
            "ours": self.ours or None,
            "theirs": self.theirs or None,
            "detail": self.detail,
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
        return sum(1 for finding in self.findings if finding.level == level)

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
            out.append(
                f"{finding.level:8} {finding.model:24} {finding.dataset:10} {finding.kind:21} "
                f"{finding.field or '-':30} {finding.detail}"
            )
        covered = len(self.served) - len(self.uncovered)
        out.append(
            f"coverage: {covered} of {len(self.served)} served model(s) confirmed by an "
            "independent dataset (not the one its price was read from)"
        )
        for finding in self.findings:
            if finding.kind == "uncovered":
                out.append(f"  not confirmed: {finding.model}: {finding.detail}")
        kinds = Counter(f.kind for f in self.findings if f.level == FAILURE)
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
            model = model_from_document(doc_id, data)
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
            )
        )
    return served, problems


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
        # Both datasets name the tier by 200k whether it starts above 200,000 or at it.
        if tier.above_input_tokens in (LONG_PROMPT_THRESHOLD, LONG_PROMPT_THRESHOLD - 1):
            prices["tier_200k.input_per_1m"] = tier.input_per_1k_tokens
            prices["tier_200k.output_per_1m"] = tier.output_per_1k_tokens
            prices["tier_200k.cached_input_per_1m"] = tier.cached_input_per_1k_tokens
    return {name: Decimal(str(value)) for name, value in prices.items() if value is not None}


# --- comparison ------------------------------------------------------------------------------


def audit(
    models: list[AuditedModel],
    datasets: list[Dataset],
    policy: PricingPolicy,
    today: dt.date,
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
    for audited in models:
        model_id = audited.model.id
        if not report.confirmed.get(model_id):
            report.findings.append(
                Finding(model_id, "-", "uncovered", _why_uncovered(audited, datasets, report))
            )
    return report


def price_validity_findings(models: list[AuditedModel], today: dt.date) -> list[Finding]:
    """Served prices that have ended (`price_expired`) or end within the warning window."""
    findings = []
    for audited in models:
        model, valid_until = audited.model, audited.model.pricing.valid_until
        if valid_until is None:
            continue
        days_left = (valid_until - today).days
        until = valid_until.isoformat()
        if not model.pricing.is_valid_on(today):
            detail = (f"the upstream price it was derived from ended on {until} and it is still "
                      "sold at it: read the current price and seed it")  # fmt: skip
            kind = "price_expired"
        elif days_left <= PRICE_EXPIRY_WARNING_DAYS:
            detail = (f"the upstream price it was derived from holds until {until} "
                      f"({days_left} day(s) left): seed the next price before then")  # fmt: skip
            kind = "price_expiring"
        else:
            continue
        findings.append(Finding(model.id, CATALOG, kind, detail, "pricing.valid_until", until))
    return findings


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
    facts = dataset.facts(upstream_id, routed)
    label = model.id
    findings = report.findings

    def add(kind: str, detail: str, name: str = "", ours: str = "", theirs: str = "") -> None:
        findings.append(Finding(label, dataset.kind, kind, detail, name, ours, theirs))

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
    _compare_prices(audited, facts, policy, add, on)
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
        add("limit_differs", f"the dataset states {facts.context_window} ({facts.basis}; "
            "LiteLLM states the input limit only)", "context_window",
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

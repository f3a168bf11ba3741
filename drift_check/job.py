"""One run of the drift check: read the served catalog, download the datasets, audit, log.

Every step that fails (Firestore, one download, one malformed answer) is logged and the run
goes on with what it has; the run is then `incomplete`, which the function answers with a 500
(Cloud Scheduler records a failed attempt) and which has its own alert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from catalog_audit.audit import (
    FAILURE,
    NOTE,
    WARNING,
    AcknowledgementError,
    AuditedModel,
    Finding,
    audit,
    load_acknowledgements,
    price_validity_findings,
    served_models,
)
from catalog_audit.datasets import Dataset, DatasetError, combine_datasets, parse_dataset
from catalog_audit.left_out import LeftOutError, load_left_out
from catalog_seed.pricing import PricingPolicy
from drift_check.download import DownloadError
from drift_check.settings import DriftSettings
from models_api.errors import BackendUnavailable

Documents = list[tuple[str, dict[str, Any]]]
LogEntry = dict[str, Any]
_SEVERITY = {FAILURE: "ERROR", WARNING: "WARNING", NOTE: "INFO"}


@dataclass
class DriftOutcome:
    served: int = 0
    datasets: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    acknowledged: int = 0
    uncovered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.errors

    def summary(self) -> LogEntry:
        state = "completed" if self.complete else "incomplete"
        return {
            "severity": "INFO" if self.complete else "ERROR",
            "message": f"drift check {state}: {self.served} served model(s), "
            f"{self.counts.get(FAILURE, 0)} failure(s), {self.alerts} alerting",
            "drift_check": state,
            "served": self.served,
            "datasets": self.datasets,
            "failures": self.counts.get(FAILURE, 0),
            "warnings": self.counts.get(WARNING, 0),
            "notes": self.counts.get(NOTE, 0),
            "alerts": self.alerts,
            "acknowledged": self.acknowledged,
            "uncovered": self.uncovered,
            "errors": self.errors,
        }


def finding_entry(finding: Finding) -> LogEntry:
    """The log line of one finding: `drift_finding` is what the log-based metrics count.

    Its severity is its level's (an alerting warning such as `price_expiring` stays WARNING);
    `alert` says whether a metric of infra/drift_check.tf counts it.
    """
    entry: LogEntry = {
        "severity": _SEVERITY[finding.level],
        "message": f"drift {finding.kind}: {finding.model} ({finding.dataset}): {finding.detail}",
        "drift_finding": finding.kind,
    }
    entry.update(finding.as_dict())
    return entry


def run_drift_check(
    settings: DriftSettings,
    read_documents: Callable[[], Documents],
    download: Callable[[str], Any],
    policy: PricingPolicy,
    today: dt.date,
    log: Callable[[LogEntry], None],
) -> DriftOutcome:
    """Audit what Firestore serves on `today` against the datasets downloaded now."""
    outcome = DriftOutcome()

    def error(step: str, problem: str) -> None:
        outcome.errors.append(f"{step}: {problem}")
        log({"severity": "ERROR", "message": f"drift check: {step}: {problem}",
             "drift_error": step})  # fmt: skip

    try:
        documents = read_documents()
    except BackendUnavailable as failure:
        error("firestore", str(failure))
        log(outcome.summary())
        return outcome
    models, problems = served_models(documents, today)
    for problem in problems:
        log({"severity": "WARNING", "message": f"drift check: {problem}"})
    outcome.served = len(models)
    if not models:  # nothing to compare is not a clean bill of health
        error("catalog", f"Firestore serves no model today ({len(documents)} document(s) read)")
        log(outcome.summary())
        return outcome

    loaded: list[Dataset] = []
    for step, url in _dataset_urls(settings, models):
        try:
            loaded.append(parse_dataset(download(url), url))
        except (DownloadError, DatasetError) as failure:
            error(step, str(failure))
    try:
        datasets = combine_datasets(loaded)
    except DatasetError as failure:
        error("datasets", str(failure))
        datasets = []
    outcome.datasets = [dataset.describe() for dataset in datasets]
    if not datasets:  # a price's end date needs no dataset: still report it
        _log_findings(outcome, price_validity_findings(models, today), log)
        log(outcome.summary())
        return outcome

    try:
        acknowledgements = load_acknowledgements(settings.acknowledgements_file)
        left_out = load_left_out(settings.acknowledgements_file)
    except (AcknowledgementError, LeftOutError) as failure:
        error("acknowledgements", str(failure))
        acknowledgements, left_out = [], {}
    try:
        report = audit(models, datasets, policy, today, acknowledgements, left_out)
    except DatasetError as failure:  # a malformed price in a dataset: named, never dropped
        error("datasets", str(failure))
        _log_findings(outcome, price_validity_findings(models, today), log)
        log(outcome.summary())
        return outcome
    _log_findings(outcome, report.findings, log)
    outcome.uncovered = report.uncovered
    log(outcome.summary())
    return outcome


def _log_findings(
    outcome: DriftOutcome, findings: list[Finding], log: Callable[[LogEntry], None]
) -> None:
    for finding in findings:
        log(finding_entry(finding))
    outcome.counts = {
        level: sum(1 for finding in findings if finding.level == level and finding.counts)
        for level in (FAILURE, WARNING, NOTE)
    }
    outcome.alerts = sum(1 for finding in findings if finding.alert)
    outcome.acknowledged = sum(1 for finding in findings if finding.acknowledged)


def _dataset_urls(settings: DriftSettings, models: list[AuditedModel]) -> list[tuple[str, str]]:
    """(step, URL) of every download: LiteLLM, OpenRouter's listing, each routed model's
    endpoints (once per OpenRouter model id)."""
    urls = [
        ("litellm", settings.litellm_url),
        ("genai-prices", settings.genai_prices_url),
        ("openrouter models", settings.openrouter_models_url),
    ]
    routed = sorted({m.model.routing.model for m in models if m.model.routing is not None
                     and m.model.routing.aggregator == "openrouter"})  # fmt: skip
    for model_id in routed:
        url = settings.openrouter_endpoints_url.replace("{model}", quote(model_id, safe="/:"))
        urls.append((f"openrouter endpoints {model_id}", url))
    return urls

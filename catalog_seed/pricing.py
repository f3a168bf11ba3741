"""Upstream USD prices -> customer credits per 1,000 tokens (margin and rounding in one place)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path


class PricingError(ValueError):
    pass


@dataclass(frozen=True)
class PricingPolicy:
    """See catalog_seed/pricing.toml for what each number means."""

    margin: Decimal
    usd_per_credit: Decimal
    decimal_places: int

    @classmethod
    def load(cls, path: Path) -> PricingPolicy:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            policy = cls(
                margin=Decimal(str(data["margin"])),
                usd_per_credit=Decimal(str(data["usd_per_credit"])),
                decimal_places=int(data["decimal_places"]),
            )
        except (OSError, KeyError, ValueError, InvalidOperation, tomllib.TOMLDecodeError) as error:
            raise PricingError(f"{path}: {error}") from error
        if policy.margin < 1 or policy.usd_per_credit <= 0 or not 0 <= policy.decimal_places <= 9:
            raise PricingError(
                f"{path}: margin must be >= 1, usd_per_credit > 0, decimal_places 0..9"
            )
        return policy

    def credits_per_1k_tokens(self, usd_per_1m_tokens: Decimal) -> float:
        """Upstream price x margin, in credits per 1,000 tokens, rounded up."""
        exact = usd_per_1m_tokens / Decimal(1000) * self.margin / self.usd_per_credit
        quantum = Decimal(1).scaleb(-self.decimal_places)
        return float(exact.quantize(quantum, rounding=ROUND_CEILING))

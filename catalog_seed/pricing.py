"""Upstream USD prices -> customer credits (margin, rounding and sanity bounds in one place)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path
from typing import Any


class PricingError(ValueError):
    pass


@dataclass(frozen=True)
class PricingPolicy:
    """See catalog_seed/pricing.toml for what each number means."""

    margin: Decimal
    usd_per_credit: Decimal
    decimal_places: int
    max_credits_per_1k_tokens: Decimal = Decimal("500")
    max_credits_per_image: Decimal = Decimal("1000")
    max_price_change_factor: Decimal = Decimal("3")

    @classmethod
    def load(cls, path: Path) -> PricingPolicy:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise PricingError(f"{path}: {error}") from error
        try:
            places = data["decimal_places"]
            if isinstance(places, bool) or not isinstance(places, int):
                raise PricingError(f"{path}: decimal_places must be an integer")
            policy = cls(
                margin=_exact(data, "margin"),
                usd_per_credit=_exact(data, "usd_per_credit"),
                decimal_places=places,
                max_credits_per_1k_tokens=_exact(data, "max_credits_per_1k_tokens"),
                max_credits_per_image=_exact(data, "max_credits_per_image"),
                max_price_change_factor=_exact(data, "max_price_change_factor"),
            )
        except KeyError as error:
            raise PricingError(f"{path}: missing setting {error}") from None
        except ValueError as error:
            raise PricingError(f"{path}: {error}") from None
        if policy.margin < 1 or policy.usd_per_credit <= 0 or not 0 <= policy.decimal_places <= 9:
            raise PricingError(
                f"{path}: margin must be >= 1, usd_per_credit > 0, decimal_places 0..9"
            )
        if min(policy.max_credits_per_1k_tokens, policy.max_credits_per_image) <= 0:
            raise PricingError(f"{path}: the max_credits_* bounds must be positive")
        if policy.max_price_change_factor <= 1:
            raise PricingError(f"{path}: max_price_change_factor must be above 1")
        return policy

    def credits_per_1k_tokens(self, usd_per_1m_tokens: Decimal) -> float:
        """Upstream price per 1M tokens x margin, in credits per 1,000 tokens, rounded up."""
        return self.credits(usd_per_1m_tokens / Decimal(1000))

    def credits(self, usd: Decimal) -> float:
        """An upstream USD amount x margin, in credits, rounded up."""
        quantum = Decimal(1).scaleb(-self.decimal_places)
        return float(self.exact_credits(usd).quantize(quantum, rounding=ROUND_CEILING))

    def exact_credits(self, usd: Decimal) -> Decimal:
        """An upstream USD amount x margin, in credits, not rounded: the least it may sell for."""
        return usd * self.margin / self.usd_per_credit


def _exact(data: dict[str, Any], name: str) -> Decimal:
    """A setting that must stay an exact decimal: written as a string, e.g. margin = "1.4"."""
    value = data[name]
    if not isinstance(value, str):
        raise ValueError(f'{name} must be a quoted decimal string (e.g. {name} = "{value}")')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name} is not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be finite")
    return number

"""Public datasets over HTTPS: bounded in time and size, every failure one clear error."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

USER_AGENT = "models-catalog-drift-check/1 (+https://github.com/; catalog price audit)"


class DownloadError(Exception):
    """A dataset could not be downloaded or is not JSON; the message names the URL."""


def download_json(url: str, timeout_seconds: float, max_bytes: int) -> Any:
    """GET `url` and parse its JSON body; DownloadError on any failure."""
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by DriftSettings
        url, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:  # noqa: S310
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url}: HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"{url}: {type(error).__name__}: {reason}") from None
    if len(body) > max_bytes:
        raise DownloadError(f"{url}: larger than {max_bytes} bytes")
    try:
        return json.loads(body)
    except ValueError as error:
        raise DownloadError(f"{url}: not JSON ({error})") from None

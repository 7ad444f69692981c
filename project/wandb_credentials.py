"""Whether W&B credentials exist, decided without asking: shared by logging and reading runs."""

from __future__ import annotations

import netrc
import os
from urllib.parse import urlsplit


def has_api_key() -> bool:
    """Whether W&B credentials are configured (environment or ``~/.netrc``), without asking."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlsplit(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        path = os.environ.get("NETRC") or None
        return netrc.netrc(path).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False

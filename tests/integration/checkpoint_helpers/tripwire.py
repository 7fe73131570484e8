"""A class whose construction a test can detect: strict loading must never build it."""

from __future__ import annotations

from typing import Any

CONSTRUCTED: list[Any] = []


class Tripwire:
    """Records every instantiation (stands in for a class an attacker would name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        CONSTRUCTED.append((args, kwargs))

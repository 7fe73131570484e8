"""The run's tape (cassette): every agent result, source read and human decision, recorded.

In ``record`` mode the tape is read-through: an entry that exists is reused, so a node that
LangGraph re-runs (on resume after an approval, after a crash) gets exactly what it got the
first time — the model is not asked again and a source is not read again. In ``replay`` mode
every entry must exist: ``waybill replay`` re-runs a finished or failed run from its tape with
no model call and no tool call, and any entry it asks for that is not there is a divergence.

Entries are keyed by *where* they happen, not by order: ``agent|<stage>|<input seq>|<attempt>``,
``read|<scope>|<source>/<key>|<n>``, ``tool|<scope>|<tool set>/<tool>|<n>`` (a tool call and its
result), ``time|<scope>`` (the clock a gate judged TTLs by), ``model|<scope>|<what>`` (a gate's
own model call, e.g. an LLM judge's verdict on one question), ``human|<scope>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from state.contracts import Fact
from state.errors import WaybillError
from state.sources import Source
from state.stores.tape import TapeStore

TapeMode = Literal["record", "replay"]


class TapeMissingError(WaybillError, LookupError):
    """Replay asked for something the run never recorded: the replay diverged here."""


class Tape:
    """Record or replay one run's agent results, source reads and human decisions."""

    def __init__(
        self,
        store: TapeStore,
        mode: TapeMode = "record",
        *,
        assume_from: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.mode = mode
        self.computed = 0
        """Entries computed live (model/agent calls and source reads) since this tape opened."""
        self.assume_from = assume_from
        """A what-if replay: the recorded entries a source read the run never made may assume
        its value from (the newest version of that fact the run read anywhere)."""
        self.assumed = 0
        """Source reads a what-if replay assumed."""

    def assumed_read(self, name: str, key: str) -> dict[str, Any] | None:
        """For a what-if replay, the newest recorded read of ``name/key`` (None if none)."""
        if self.assume_from is None:
            return None
        reads = [
            json.loads(v)
            for k, v in self.assume_from.items()
            if k.startswith("read|") and k.rsplit("|", 2)[1] == f"{name}/{key}"
        ]
        if not reads:
            return None
        self.assumed += 1
        newest: dict[str, Any] = max(reads, key=lambda fact: int(fact.get("version") or 0))
        return newest

    def _through(self, key: str, compute: Callable[[], Any]) -> Any:
        raw = self.store.get(key)
        if raw is not None:
            return json.loads(raw)
        if self.mode == "replay":
            raise TapeMissingError(f"the tape has no entry '{key}': the replay diverged here")
        value = compute()
        self.computed += 1
        self.store.put(key, json.dumps(value, default=str, sort_keys=True))
        return value

    def agent(
        self, scope: str, compute: Callable[[], tuple[dict[str, Any], dict[str, Any]]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An agent's ``(output payload, decision record)`` for ``scope``."""
        value = self._through(f"agent|{scope}", lambda: list(compute()))
        return dict(value[0]), dict(value[1])

    def tool(self, key: str, compute: Callable[[], Any]) -> Any:
        """A tool call's arguments and result under ``key`` (``tool|<scope>|<set>/<tool>|<n>``)."""
        return self._through(key, compute)

    def answer(self, scope: str, what: str, compute: Callable[[], Any]) -> Any:
        """A model call's JSON answer to ``what`` at ``scope`` (a gate's LLM judge)."""
        return self._through(f"model|{scope}|{what}", compute)

    def sources(self, scope: str, real: Mapping[str, Source]) -> Mapping[str, Source]:
        """``real`` sources whose reads are recorded (or replayed) under ``scope``."""
        return _TapedSources(self, scope, real)

    def time(self, scope: str, clock: Callable[[], datetime]) -> datetime:
        """The time at ``scope``: ``clock()`` the first time, the recorded time ever after."""
        value = self._through(f"time|{scope}", lambda: clock().isoformat())
        return datetime.fromisoformat(str(value))

    def human(self, scope: str, decision: dict[str, Any]) -> None:
        """Record the human decision taken at ``scope`` (kept when already recorded)."""
        if self.store.get(f"human|{scope}") is None:
            self.store.put(f"human|{scope}", json.dumps(decision, default=str, sort_keys=True))

    def has_decision(self, scope: str) -> bool:
        """Whether a human decision was recorded at ``scope``."""
        return self.store.get(f"human|{scope}") is not None

    def decision_for(self, scope: str) -> dict[str, Any]:
        """The recorded human decision at ``scope`` (replay)."""
        raw = self.store.get(f"human|{scope}")
        if raw is None:
            raise TapeMissingError(f"no human decision was recorded at '{scope}'")
        decision: dict[str, Any] = json.loads(raw)
        return decision


class _TapedSources(Mapping[str, Source]):
    def __init__(self, tape: Tape, scope: str, real: Mapping[str, Source]) -> None:
        self._tape = tape
        self._scope = scope
        self._real = real
        self._counts: dict[str, int] = {}

    def __getitem__(self, name: str) -> Source:
        if name not in self._real and self._tape.mode == "record":
            raise KeyError(name)
        return _TapedSource(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def read(self, name: str, key: str) -> Fact:
        n = self._counts.get(f"{name}/{key}", 0)
        self._counts[f"{name}/{key}"] = n + 1
        entry = f"read|{self._scope}|{name}/{key}|{n}"
        if self._tape.store.get(entry) is None:
            assumed = self._tape.assumed_read(name, key)
            if assumed is not None:
                return Fact.model_validate(assumed)
        value = self._tape._through(
            entry, lambda: self._real[name].read(key).model_dump(mode="json")
        )
        return Fact.model_validate(value)


@dataclass(frozen=True)
class _TapedSource:
    sources: _TapedSources
    name: str

    def read(self, key: str) -> Fact:
        return self.sources.read(self.name, key)

    def __getattr__(self, attr: str) -> Any:
        # Anything but read() (e.g. a portal's place()) goes to the real source: actions run
        # under their own idempotency ledger, not the tape.
        return getattr(self.sources._real[self.name], attr)

"""An action's declared fields are checked when the chain is built, not when it acts.

A misspelt tier used to be found only when the action's record was written: after its effect.
"""

from __future__ import annotations

from typing import Any

from graph.chain import Action, Stage
from tests.unit.test_validate import A, agent, chain, problems


def _action(name: str = "eff", tier: Any = "auto") -> Action[A]:
    return Action(name=name, tier=tier, run=lambda out, key, src: {}, args=lambda out: {})


def _with(*actions: Action[A]) -> str:
    stages = (
        Stage("one", agent, A, A, owner="o", actions=actions),
        Stage("two", agent, A, A, owner="o"),
    )
    return problems(chain(stages=stages))


def test_an_unknown_tier_is_a_build_error() -> None:
    assert (
        "action 'eff' of stage 'one' has an unknown autonomy tier 'sometimes' "
        "(allowed: auto, notify, approve)"
    ) in _with(_action(tier="sometimes"))


def test_an_empty_action_name_is_a_build_error() -> None:
    assert "an action of stage 'one' has an empty name" in _with(_action(name=" "))


def test_two_actions_of_one_name_are_a_build_error() -> None:
    message = _with(_action(), _action(tier="approve"))
    assert "action 'eff' of stage 'one' is declared more than once" in message


def test_an_action_that_is_not_a_function_is_a_build_error() -> None:
    bad: Action[A] = Action(name="eff", tier="auto", run=None, args=lambda out: {})  # type: ignore[arg-type]
    assert "action 'eff' of stage 'one': run is not a function" in _with(bad)

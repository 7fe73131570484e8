"""Where workflows are found: every ``agents/<name>/chain.py`` that defines ``build_chain()``.

A fork adds a workflow by adding that file (stages and contracts) and an ``agents.py`` beside it;
nothing in graph/, state/ or console/ changes. Installed packages can also register workflows
through the ``waybill.workflows`` entry-point group (each entry point names a ``build_chain``),
and ``WAYBILL_WORKFLOW_MODULES`` (a JSON list of module names) adds modules from anywhere on
the path (the tests use it for their own workflows).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from graph.chain import Chain
from graph.validate import validate_chain
from state.errors import WaybillError
from state.settings import get_settings

ENTRY_POINT_GROUP = "waybill.workflows"


class UnknownWorkflowError(WaybillError, KeyError):
    """No workflow of that name is registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown workflow '{self.name}' (known: {', '.join(self.known) or 'none'})"


class BrokenWorkflowError(UnknownWorkflowError):
    """The workflow exists but failed to load (import error, invalid chain)."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__(name, [])
        self.error = error

    def __str__(self) -> str:
        return f"workflow '{self.name}' failed to load: {self.error}"


class Registry:
    """Workflows by name; discovery happens on first use, never at import."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[], Chain]] = {}
        self._chains: dict[str, Chain] = {}
        self._broken: dict[str, str] = {}
        self._origins: dict[str, str] = {}  # name -> the module discovery loaded it from
        self._clashes: dict[str, list[str]] = {}  # name -> the modules that all define it
        self._discovered = False

    def register(self, factory: Callable[[], Chain], name: str | None = None) -> None:
        """Register a chain factory (its name is read from the chain if not given)."""
        chain = factory()
        validate_chain(chain)
        key = name or chain.name
        self._factories[key] = factory
        self._chains[key] = chain

    def discover(self) -> None:
        """Import every ``agents.<pkg>.chain`` module and entry point, once."""
        if self._discovered:
            return
        self._discovered = True
        import agents

        for base in agents.__path__:
            for chain_file in sorted(Path(base).glob("*/chain.py")):
                self._load(chain_file.parent.name, f"agents.{chain_file.parent.name}.chain")
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            self._load(ep.name, ep.value.split(":")[0])
        for module_name in get_settings().workflow_modules:
            self._load(module_name.rsplit(".", 1)[-1], module_name)

    def _load(self, name: str, module_name: str) -> None:
        # One broken workflow must not take the others down (the console keeps serving them):
        # it is listed as broken with its error, and using it raises that error.
        try:
            module = importlib.import_module(module_name)
            factory = getattr(module, "build_chain", None)
            if not callable(factory):
                raise TypeError(f"module {module_name} has no build_chain() function")
            chain = factory()
            if self._claimed(chain.name, module_name, factory):
                return
            self.register(factory)
            self._origins[chain.name] = module_name
        except Exception as exc:
            self._broken[name] = f"{type(exc).__name__}: {exc}"

    def _claimed(self, name: str, module_name: str, factory: Callable[[], Chain]) -> bool:
        """Whether ``name`` is already taken; two modules defining it break it (neither runs)."""
        if name in self._clashes:
            self._clash(name, module_name)
            return True
        if name not in self._chains:
            return False
        origin = self._origins.get(name)
        if origin is None or origin == module_name or _same_file(self._factories[name], factory):
            return True  # registered explicitly before discovery (it wins), or the same module
        del self._chains[name], self._factories[name], self._origins[name]
        self._clashes[name] = [origin]
        self._clash(name, module_name)
        return True

    def _clash(self, name: str, module_name: str) -> None:
        modules = self._clashes[name]
        if module_name not in modules:
            modules.append(module_name)
        self._broken[name] = (
            f"DuplicateWorkflowError: workflow name '{name}' is defined by more than one module "
            f"({', '.join(modules)}); rename all but one"
        )

    def broken(self) -> dict[str, str]:
        """Workflows that failed to load, with the error (name -> message)."""
        self.discover()
        return dict(self._broken)

    def names(self) -> list[str]:
        """Names of the workflows that loaded, sorted (see :meth:`broken` for the others)."""
        self.discover()
        return sorted(self._chains)

    def get(self, name: str) -> Chain:
        """The chain called ``name``; :class:`UnknownWorkflowError` names the known ones."""
        self.discover()
        try:
            return self._chains[name]
        except KeyError:
            if name in self._broken:
                raise BrokenWorkflowError(name, self._broken[name]) from None
            raise UnknownWorkflowError(name, sorted(self._chains)) from None

    def folder(self, name: str) -> Path:
        """The folder of the module that builds ``name`` (its examples and topology live there)."""
        self.get(name)
        return Path(inspect.getfile(self._factories[name])).parent

    def fresh(self, name: str) -> Chain:
        """A newly built chain (for a new run: faults and sources are per run)."""
        self.get(name)
        return self._factories[name]()


def _same_file(one: Callable[[], Chain], other: Callable[[], Chain]) -> bool:
    """Whether two factories are defined in one source file (a module imported twice)."""
    if one is other:
        return True
    try:
        return Path(inspect.getfile(one)).resolve() == Path(inspect.getfile(other)).resolve()
    except (TypeError, OSError):
        return False


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, created on first call."""
    global _default
    if _default is None:
        _default = Registry()
    return _default

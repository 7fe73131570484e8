"""The ASGI app of ``waybill a2a``: every registered workflow as an A2A agent under its name.

``GET /`` lists them; ``/<workflow>/.well-known/agent-card.json`` is a workflow's card and
``POST /<workflow>/`` its JSON-RPC endpoint, for callers with a console user's API token
(``console.a2a.auth``).
"""

from __future__ import annotations

from collections.abc import Callable

from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from console.a2a.auth import CallerContext, TokenBackend, refused
from console.a2a.card import agent_card
from console.a2a.executor import RunAgentExecutor, Start
from console.a2a.handler import RunTaskHandler
from graph.runtime.registry import Registry
from state.control.plane import ControlPlane


def a2a_app(
    cp: ControlPlane,
    registry: Registry,
    start_for: Callable[[str], Start],
    base_url: str,
    wait_s: float = 30.0,
) -> Starlette:
    """One Starlette app serving every workflow of ``registry`` at ``base_url/<workflow>/``.

    Args:
        cp: the control plane (runs, events, escalations).
        registry: the workflows to publish.
        start_for: the function that starts a run of a workflow as the caller (role-checked
            and audited by the run service).
        base_url: where clients reach this app (the cards name it).
        wait_s: how long a ``message/send`` waits for the run to pause or end.
    """
    routes: list[BaseRoute] = []
    cards: dict[str, str] = {}
    for name in registry.names():
        url = f"{base_url.rstrip('/')}/{name}/"
        card = agent_card(registry.get(name), url)
        handler = RunTaskHandler(
            name,
            cp,
            agent_executor=RunAgentExecutor(name, cp, start_for(name), wait_s),
            task_store=InMemoryTaskStore(),
            agent_card=card,
        )
        rpc = create_jsonrpc_routes(handler, rpc_url="/", context_builder=CallerContext())
        inner = [*create_agent_card_routes(card), *rpc]
        routes.append(Mount(f"/{name}", routes=inner))
        cards[name] = f"{url}.well-known/agent-card.json"

    async def index(request: Request) -> JSONResponse:
        return JSONResponse({"agents": cards})

    guard = Middleware(AuthenticationMiddleware, backend=TokenBackend(cp), on_error=refused)
    return Starlette(routes=[Route("/", index), *routes], middleware=[guard])

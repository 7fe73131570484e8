"""An A2A agent card generated from a chain: name, description, the input contract as the
skill's schema (and the output contract beside it, in a card extension)."""

from __future__ import annotations

import json

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict

from console.a2a.auth import SCHEME
from graph.chain import Chain
from state.contracts import Contract

CONTRACTS_EXTENSION = "urn:waybill:contracts:v1"
"""Card extension whose params hold the workflow's input and output JSON schemas."""
JSON = "application/json"


def output_contract(chain: Chain) -> type[Contract]:
    """What a successful run hands out: the contract of the first stage that may finish it."""
    produced: type[Contract] = chain.stage(chain.finishing()[0]).produces
    return produced


def agent_card(chain: Chain, url: str) -> AgentCard:
    """The card of ``chain`` served at ``url`` (its JSON-RPC endpoint)."""
    consumes = chain.stage(chain.entry).consumes
    produces = output_contract(chain)
    schemas = {
        "input_schema": consumes.model_json_schema(),
        "output_schema": produces.model_json_schema(),
    }
    examples = [json.dumps(json.loads(path.read_text())) for path in chain.examples.values()]
    skill = AgentSkill(
        id=chain.name,
        name=chain.name,
        description=(
            f"{chain.description} Send one data part: a JSON object of {consumes.__name__} "
            f"(its JSON schema: {json.dumps(consumes.model_json_schema(), sort_keys=True)}). "
            f"A completed task's artifact is a {produces.__name__}."
        ),
        tags=["waybill", *(s.name for s in chain.stages)],
        examples=examples,
        input_modes=[JSON],
        output_modes=[JSON],
    )
    extension = AgentExtension(
        uri=CONTRACTS_EXTENSION,
        description="The workflow's input and output contracts as JSON schemas.",
        required=False,
        params=ParseDict(schemas, struct_pb2.Struct()),
    )
    return AgentCard(
        name=chain.name,
        description=chain.description,
        version="1.0.0",
        provider=AgentProvider(organization="Waybill", url=url),
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(
            streaming=False, push_notifications=False, extensions=[extension]
        ),
        default_input_modes=[JSON],
        default_output_modes=[JSON],
        skills=[skill],
        security_schemes={
            SCHEME: SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer",
                    description="A Waybill console user's API token (`waybill user token NAME`); "
                    "runs start as that user (approver role at least).",
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={SCHEME: StringList()})],
    )

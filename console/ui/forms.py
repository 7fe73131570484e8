"""A form from a contract's JSON schema, prefilled from a proposal (the inbox's edit form).

Simple fields (text, numbers, booleans, enums) get their own widget; anything else (objects,
lists) gets a JSON text area. Values are parsed here; the contract itself is validated by the
run service, whose field errors the page shows next to this form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from pydantic import BaseModel


@dataclass(frozen=True)
class FieldSpec:
    """One top-level field of a contract, as the form shows it."""

    name: str
    kind: str
    """``text``, ``integer``, ``number``, ``boolean``, ``enum`` or ``json``."""
    required: bool
    options: list[Any] = field(default_factory=list)
    description: str = ""


def _kind(schema: dict[str, Any]) -> tuple[str, list[Any]]:
    branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
    if len(branches) != 1:
        return "json", []
    branch = branches[0]
    if "enum" in branch:
        return "enum", list(branch["enum"])
    if "const" in branch:
        return "enum", [branch["const"]]
    kind = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}
    return kind.get(str(branch.get("type")), "json"), []


def schema_fields(model: type[BaseModel]) -> list[FieldSpec]:
    """The form fields of a contract, in declaration order."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        kind, options = _kind(prop)
        out.append(
            FieldSpec(name, kind, name in required, options, str(prop.get("description", "")))
        )
    return out


def parse_value(spec: FieldSpec, raw: Any) -> tuple[Any, str | None]:
    """``(value, error)`` of one widget's raw value; ``value`` is ``...`` to omit the field."""
    if spec.kind in ("boolean", "enum"):
        return raw, None
    text = str(raw if raw is not None else "").strip()
    if not text:
        return (None, "required") if spec.required else (..., None)
    try:
        if spec.kind == "integer":
            return int(text), None
        if spec.kind == "number":
            return float(text), None
        if spec.kind == "json":
            return json.loads(text), None
    except ValueError:
        expected = {"integer": "an integer", "number": "a number", "json": "valid JSON"}
        return None, f"not {expected[spec.kind]}"
    return text, None


def _initial(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.kind == "json":
        return json.dumps(value, indent=1, default=str)
    return str(value)


def contract_form(model: type[BaseModel], prefill: dict[str, Any], *, key: str) -> None:
    """Widgets for every field (call inside an ``st.form``); read them with :func:`read_form`."""
    for spec in schema_fields(model):
        wkey = f"{key}.{spec.name}"
        label = spec.name + ("" if spec.required else " (optional)")
        current = prefill.get(spec.name)
        if spec.kind == "boolean":
            st.checkbox(label, value=bool(current), key=wkey)
        elif spec.kind == "enum":
            index = spec.options.index(current) if current in spec.options else 0
            st.selectbox(label, spec.options, index=index, key=wkey)
        elif spec.kind == "json":
            st.text_area(label, value=_initial(spec, current), key=wkey, height=120)
        else:
            st.text_input(label, value=_initial(spec, current), key=wkey)


def read_form(model: type[BaseModel], *, key: str) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, errors)`` of a :func:`contract_form` (also usable from a callback)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in schema_fields(model):
        value, error = parse_value(spec, st.session_state.get(f"{key}.{spec.name}"))
        if error:
            errors[spec.name] = error
        elif value is not ...:
            values[spec.name] = value
    return values, errors


def show_field_errors(errors: dict[str, str]) -> None:
    """Field errors as a plain table (messages may quote the submitted text)."""
    st.dataframe(
        [{"field": k, "problem": v} for k, v in errors.items()],
        hide_index=True,
        column_config={"field": "field", "problem": "problem"},
    )

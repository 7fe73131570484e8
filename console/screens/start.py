"""Start a run: pick a workflow, fill its input (an example, or a form from its contract),
optionally inject a fault, submit."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from console.ui import actions
from console.ui.forms import contract_form, read_form, show_field_errors
from console.ui.page import PageContext, run_page
from console.ui.views import md_escape

NONE = "(none)"


def _example(path: Any) -> str:
    try:
        return json.dumps(json.loads(path.read_text()), indent=2)
    except (OSError, ValueError):
        return "{}"


def body(ctx: PageContext) -> None:
    """The workflow picker, its input (an example's JSON, or a form from its contract), the
    fault to inject, and the submit (approvers only)."""
    if not ctx.can("approver"):
        st.info("Starting runs needs the approver role.")
        return
    registry = ctx.h.registry
    names = registry.names()
    workflow = st.selectbox("Workflow", names, key="start.workflow")
    if workflow is None:
        st.text("No workflow is registered.")
        return
    chain = registry.get(workflow)
    st.text(chain.description)
    contract = chain.stage(chain.entry).consumes
    examples = list(chain.examples)
    source = st.radio(
        "Input",
        ["example (JSON)", "form"] if examples else ["JSON", "form"],
        horizontal=True,
        key="start.source",
    )
    fault = st.selectbox(
        "Fault to inject (optional)", [NONE, *[f.name for f in chain.faults]], key="start.fault"
    )
    errors: dict[str, str] = {}
    if source == "form":
        with st.form("start.form"):
            st.caption(f"Fields of {contract.__name__}")
            contract_form(contract, {}, key=f"start.{workflow}")
            submitted = st.form_submit_button("Start run", type="primary")
        request, errors = read_form(contract, key=f"start.{workflow}")
    else:
        example = st.selectbox("Example", examples, key="start.example") if examples else None
        initial = _example(chain.examples[example]) if example else "{}"
        with st.form("start.json"):
            raw = st.text_area(
                f"Input ({contract.__name__}, JSON)",
                value=initial,
                height=200,
                key=f"start.raw.{workflow}.{example}",
            )
            submitted = st.form_submit_button("Start run", type="primary")
        if submitted:
            try:
                request = json.loads(raw)
            except ValueError as exc:
                errors = {"<root>": f"not valid JSON ({exc})"}
    if not submitted:
        return
    if errors:
        st.error("The input has errors; no run was started.")
        show_field_errors(errors)
        return
    out = actions.submit(ctx.h, ctx.who, workflow, request, inject=None if fault == NONE else fault)
    if not out.ok:
        st.error(md_escape(out.message))
        return
    st.success(md_escape(out.message))
    st.session_state["start.last"] = out.value.run_id
    st.page_link(
        "screens/run_detail.py",
        label="Open the run",
        icon="🔎",
        query_params={"run": out.value.run_id},
    )


run_page("Start a run", body)

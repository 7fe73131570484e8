"""``waybill mcp``: the oversight tools as an MCP server for operators' assistants.

Read runs, timelines, verdicts and pending escalations; trip kill switches. Never decide an
escalation: approvals come from humans only (see ``console.mcp.server``).
"""

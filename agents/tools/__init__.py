"""Tool sets agents can be given: MCP servers (``agents.tools.mcp``)."""

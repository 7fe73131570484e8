"""A small real MCP server for tests: stock levels (read-only) and reservations (a side effect).

``python tests/mcp_stock_server.py stdio`` or ``... http PORT``. Every tool call appends one
JSON line to the file named by ``STOCK_CALLS`` (the tests count calls there), and a reservation
is applied once per idempotency key (as a real system dedups on the key it is given).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

LEVELS = {"SKU-CHAIR-01": 140, "SKU-MON-27": 35}


def _log(tool: str, **arguments: object) -> None:
    with Path(os.environ["STOCK_CALLS"]).open("a") as f:
        f.write(json.dumps({"tool": tool, **arguments}) + "\n")


def build(port: int = 0) -> FastMCP:
    server = FastMCP("stock", host="127.0.0.1", port=port, log_level="WARNING")

    @server.tool(description="Units of a SKU in stock (read-only).")
    def stock_level(sku: str) -> dict[str, object]:
        _log("stock_level", sku=sku)
        return {"sku": sku, "units": LEVELS.get(sku, 0)}

    @server.tool(description="Reserve units of a SKU (changes stock; once per idempotency key).")
    def reserve_stock(sku: str, quantity: int, idempotency_key: str) -> dict[str, object]:
        _log("reserve_stock", sku=sku, quantity=quantity, idempotency_key=idempotency_key)
        return {"reserved": quantity, "sku": sku, "key": idempotency_key}

    return server


if __name__ == "__main__":
    if sys.argv[1] == "http":
        build(int(sys.argv[2])).run("streamable-http")
    else:
        build().run("stdio")

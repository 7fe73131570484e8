"""Where the command line's servers listen: an address they cannot bind is one clear line
before anything starts, and the URLs they print are valid for IPv6 too."""

from __future__ import annotations

import socket

import pytest

from console.cli.errors import CliError
from console.cli.ports import require_free_port
from console.origin import allowed_origins, http_url
from state.settings import Settings, console_base_url


def test_a_taken_port_says_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CliError, match=f"port {port} on 127.0.0.1 is in use"):
            require_free_port("127.0.0.1", port, "metrics server")


@pytest.mark.parametrize(
    ("host", "why"),
    [("nosuch.invalid", "cannot listen on nosuch.invalid:"), ("192.0.2.1", "(Cannot assign")],
)
def test_an_address_that_is_not_this_machines_is_not_called_in_use(host: str, why: str) -> None:
    """An unknown name or a foreign address was reported as 'port in use' before."""
    with pytest.raises(CliError) as info:
        require_free_port(host, 9, "metrics server")
    message = str(info.value)
    assert why in message
    assert "in use" not in message
    assert message.endswith(
        "use an address of this machine (127.0.0.1 by default); nothing was started"
    )


def test_a_free_port_and_port_zero_pass() -> None:
    require_free_port("127.0.0.1", 0, "metrics server")  # any free port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    require_free_port("127.0.0.1", port, "metrics server")


def test_urls_put_an_ipv6_address_in_brackets() -> None:
    assert http_url("::1", 9464) == "http://[::1]:9464"
    assert http_url("127.0.0.1", 8501) == "http://127.0.0.1:8501"
    assert "http://[fd00::5]:8501" in allowed_origins("fd00::5", 8501)
    settings = Settings(console_host="fd00::5", console_port=8502)
    assert console_base_url(settings) == "http://[fd00::5]:8502"

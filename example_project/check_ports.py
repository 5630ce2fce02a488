"""Before the demo starts anything: are its two ports valid, distinct and free?

    python example_project/check_ports.py SHOP_PORT UPSTREAM_PORT

Silent with exit status 0 when both can be used; otherwise one message per problem on
stderr, naming the port, what it is for and the make variable that moves it, and exit
status 1. run_demo.sh calls it first, so a busy port stops the demo before any server
starts, without a traceback and without the banner of URLs.
"""

from __future__ import annotations

import errno
import socket
import sys

HOST = "127.0.0.1"
# (make variable, what listens there, another port to suggest)
ROLES = (
    ("PORT", "the shop (Django runserver)", 8080),
    ("UPSTREAM_PORT", "the flaky upstream", 8091),
)


def port_number(variable: str, text: str) -> tuple[int | None, str | None]:
    """``text`` as a TCP port, or why it is not one."""
    try:
        port = int(text)
    except ValueError:
        return None, f"{variable} must be a port number from 1 to 65535, not {text!r}."
    if not 1 <= port <= 65535:
        return None, f"{variable} must be a port number from 1 to 65535, not {port}."
    return port, None


def in_use(port: int) -> str | None:
    """Why a server could not listen on HOST:``port`` (the way runserver binds), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use"
            return f"cannot be used ({exc.strerror})"
    return None


def problems(shop: str, upstream: str) -> list[str]:
    texts = (shop, upstream)
    parsed = [port_number(role[0], text) for role, text in zip(ROLES, texts, strict=True)]
    errors = [error for _, error in parsed if error is not None]
    if errors:
        return errors
    ports = [port for port, _ in parsed if port is not None]
    if ports[0] == ports[1]:
        return [
            f"PORT and UPSTREAM_PORT are both {ports[0]}: the shop and the upstream need a "
            f"port each, e.g. make demo PORT={ports[0]} UPSTREAM_PORT={ports[0] + 1}"
        ]
    found = []
    for (variable, role, suggestion), port in zip(ROLES, ports, strict=True):
        reason = in_use(port)
        if reason is not None:
            other = suggestion if suggestion not in ports else max(ports) + 1
            found.append(
                f"port {port} for {role} {reason} on {HOST}: another `make demo` may still "
                f"be running (see what listens there: ss -ltnp 'sport = :{port}').\n"
                f"  Stop it, or pick another port: make demo {variable}={other}"
            )
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: check_ports.py SHOP_PORT UPSTREAM_PORT", file=sys.stderr)
        return 2
    found = problems(*argv)
    for problem in found:
        print(f"make demo: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

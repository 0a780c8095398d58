"""Run the `assistant` command with every outbound connection attempt recorded.

    python -m tests.audited_run AUDIT_FILE ARGS...

A Python audit hook (PEP 578) sees each socket connect, sendto and name lookup the process
makes, before it happens; each one to a non-loopback address is appended to AUDIT_FILE as a
JSON line. The command then runs exactly as `assistant ARGS...` would.
"""

from __future__ import annotations

import ipaddress
import json
import sys

LOOPBACK_NAMES = {"localhost", "ip6-localhost", ""}


def _outbound(address) -> str | None:
    """The host of an address that leaves the machine, or None for loopback/unix sockets."""
    if not isinstance(address, tuple) or not address:
        return None  # a unix socket path
    host = str(address[0])
    if host in LOOPBACK_NAMES:
        return None
    try:
        return None if ipaddress.ip_address(host.split("%")[0]).is_loopback else host
    except ValueError:
        return host  # a name to resolve: outbound unless it is a loopback name


def install(audit_file: str) -> None:
    def hook(event: str, args) -> None:
        if event in ("socket.connect", "socket.sendto"):
            host = _outbound(args[1])
        elif event == "socket.getaddrinfo":
            host = _outbound((args[0],)) if args[0] is not None else None
        else:
            return
        if host is not None:
            with open(audit_file, "a", encoding="utf-8") as out:
                out.write(json.dumps({"event": event, "host": host}) + "\n")

    sys.addaudithook(hook)


if __name__ == "__main__":
    install(sys.argv[1])
    sys.argv = ["assistant", *sys.argv[2:]]
    from ui.cli import main

    main()

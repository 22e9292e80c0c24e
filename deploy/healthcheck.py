"""The container's HEALTHCHECK: exit 0 when the web server in this container answers /healthz.

The request names a host from ALLOWED_HOSTS (Django refuses any other with 400), so the check
works whatever the deployment's host name is. Standard library only: it starts in milliseconds.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def allowed_host(setting: str) -> str:
    """A Host header that ALLOWED_HOSTS (comma separated, Django's syntax) accepts."""
    for host in (entry.strip() for entry in setting.split(",")):
        if host and host != "*":
            return host.lstrip(".")  # ".example.org" also matches example.org itself
    return "localhost"


def main() -> int:
    host = allowed_host(os.environ.get("ALLOWED_HOSTS", "localhost"))
    request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - fixed URL
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

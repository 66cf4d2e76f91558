"""Another gateway on a running suite's SHOAL_HOME (its own socket and
HTTPS port), as `shoal gateway` runs it: with SHOAL_GATEWAY_VIEWS=0 it is
the RPC path of every view-served route, measured beside the suite's own.

    python -m bench.second_gateway --socket PATH --https 127.0.0.1:P
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop

from gateway.main import run_gateway
from services.common.config import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--https", required=True)
    args = parser.parse_args()
    uvloop.install()
    asyncio.run(run_gateway(load_settings(), https=args.https, socket_path=args.socket))


if __name__ == "__main__":
    main()

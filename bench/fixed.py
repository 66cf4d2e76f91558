"""The floor a view-served route is measured against: a bare aiohttp
handler answering fixed bytes (a file's) as JSON, with no authentication,
routing table or shaping, over HTTPS with the suite's certificate, so both
pay for the same transport. Run as a process:

    python -m bench.fixed --port P --home SHOAL_HOME --body FILE
    python -m bench.fixed --unix PATH --body FILE    (a unix socket instead)
    python -m bench.fixed --port P --body FILE       (plain HTTP on 127.0.0.1)
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--unix", default="")
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args()
    body = args.body.read_bytes()

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    uvloop.install()
    if args.unix:
        web.run_app(app, path=args.unix, access_log=None, print=None)
        return
    context = None
    if args.home is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.home / "tls" / "cert.pem", args.home / "tls" / "key.pem")
    web.run_app(app, host="127.0.0.1", port=args.port, ssl_context=context, access_log=None, print=None)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Interop check for an MCP server using the official Python SDK client (mcp==2.3.0).

  python Tests/ServerTests/Interop/mcp_client.py --stdio "ares mcp"            [--expect-citations]
  python Tests/ServerTests/Interop/mcp_client.py --url http://127.0.0.1:8080/mcp [--header 'Authorization: Bearer X'] [--expect-citations]

Options: --mode auto|legacy (auto = default SDK behaviour: server/discover probe, then initialize on error),
--env K=V (extra env for the stdio child; the SDK passes only HOME/LOGNAME/PATH/SHELL/TERM/USER by default),
--inherit-env (pass the whole environment), --timeout SECONDS (per-request read timeout, default 600).
Prints PASS/FAIL lines; exit status 0 only when every check passed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import ssl
import sys
import traceback

from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

FAILURES: list[str] = []
REQUIRED_TOOLS = ("research", "search_knowledge", "get_task")


def check(ok: bool, what: str, detail: str = "") -> bool:
    print(f"{'PASS' if ok else 'FAIL'}: {what}" + (f" -- {detail}" if detail else ""), flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", None) == "text")


def find_task_id(structured) -> str | None:
    if not isinstance(structured, dict):
        return None
    for key in ("taskId", "task_id", "id"):
        if isinstance(structured.get(key), str):
            return structured[key]
    task = structured.get("task")
    if isinstance(task, dict):
        return find_task_id(task)
    return None


def build_server(args):
    if args.stdio:
        argv = shlex.split(args.stdio)
        env = dict(os.environ) if args.inherit_env else {}
        for kv in args.env:
            k, _, v = kv.partition("=")
            env[k] = v
        return StdioServerParameters(command=argv[0], args=argv[1:], env=env or None), None
    headers = {}
    for h in args.header:
        k, sep, v = h.partition(":")
        if not sep:
            raise SystemExit(f"bad --header {h!r}, expected 'Name: value'")
        headers[k.strip()] = v.strip()
    if args.ca_file or args.client_cert:
        # HTTPS with a private CA and/or a client certificate: the SDK's own client factory takes
        # neither, so build the same client (its timeouts) with an SSL context.
        import httpx2
        from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT
        context = ssl.create_default_context(cafile=args.ca_file)
        if args.client_cert:
            context.load_cert_chain(args.client_cert, args.client_key)
        http = httpx2.AsyncClient(headers=headers or None, verify=context,
                                  timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT))
    else:
        http = create_mcp_http_client(headers=headers or None)
    return streamable_http_client(args.url, http_client=http), http


async def run(args) -> None:
    server, http = build_server(args)
    try:
        async with Client(server, mode=args.mode, read_timeout_seconds=args.timeout) as client:
            check(True, f"connect+handshake ({args.mode})",
                  f"protocolVersion={client.protocol_version} serverInfo={client.server_info}")
            check(client.server_capabilities.tools is not None, "server advertises tools capability")

            # ---- tools/list
            listing = await client.list_tools()
            tools = {t.name: t for t in listing.tools}
            check(True, "tools/list", f"{sorted(tools)}")
            for name in REQUIRED_TOOLS:
                t = tools.get(name)
                if check(t is not None, f"tool {name} listed"):
                    schema = t.input_schema or {}
                    check(isinstance(schema, dict) and schema.get("type") == "object",
                          f"tool {name} has object inputSchema", json.dumps(schema)[:200])
            if "research" in tools:
                props = (tools["research"].input_schema or {}).get("properties") or {}
                check("question" in props, "research inputSchema has 'question'")
            if "search_knowledge" in tools:
                props = (tools["search_knowledge"].input_schema or {}).get("properties") or {}
                check("query" in props, "search_knowledge inputSchema has 'query'")

            # ---- search_knowledge
            try:
                r = await client.call_tool("search_knowledge", {"query": args.query, "limit": 3})
                check(not r.is_error, "call search_knowledge", text_of(r)[:200].replace("\n", " | "))
            except Exception as e:  # noqa: BLE001
                check(False, "call search_knowledge", repr(e))

            # ---- research
            task_id = None
            try:
                r = await client.call_tool("research", {"question": args.question})
                text = text_of(r)
                check(not r.is_error, "call research (isError false)", text[:200].replace("\n", " | "))
                check(bool(text.strip()), "research returned non-empty text content")
                if args.expect_citations:
                    check(re.search(r"\[\d+\]", text) is not None, "research text contains citation marker [n]")
                task_id = find_task_id(r.structured_content)
                print(f"INFO: research structuredContent keys="
                      f"{sorted(r.structured_content) if isinstance(r.structured_content, dict) else None} "
                      f"taskId={task_id}", flush=True)
            except Exception as e:  # noqa: BLE001
                check(False, "call research", repr(e))

            # ---- get_task
            if task_id:
                try:
                    r = await client.call_tool("get_task", {"taskId": task_id})
                    check(not r.is_error, "call get_task", text_of(r)[:200].replace("\n", " | "))
                except Exception as e:  # noqa: BLE001
                    check(False, "call get_task", repr(e))
            else:
                print("INFO: no taskId in research structuredContent; get_task skipped", flush=True)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        check(False, "session", repr(e))
    finally:
        if http is not None:
            await http.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--stdio", help="server command line, e.g. 'ares mcp'")
    g.add_argument("--url", help="streamable HTTP endpoint, e.g. http://127.0.0.1:8080/mcp")
    ap.add_argument("--header", action="append", default=[], help="'Name: value' (HTTP only; repeatable)")
    ap.add_argument("--env", action="append", default=[], help="K=V for the stdio child (repeatable)")
    ap.add_argument("--inherit-env", action="store_true", help="pass the full environment to the stdio child")
    ap.add_argument("--mode", default="auto", choices=["auto", "legacy"])
    ap.add_argument("--expect-citations", action="store_true")
    ap.add_argument("--question", default="What is the Model Context Protocol?")
    ap.add_argument("--query", default="model context protocol")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--ca-file", default=None, help="PEM CA bundle to verify an https server with")
    ap.add_argument("--client-cert", default=None, help="PEM client certificate for mutual TLS (with --client-key)")
    ap.add_argument("--client-key", default=None, help="PEM private key of --client-cert")
    args = ap.parse_args()
    asyncio.run(run(args))
    print(("PASS" if not FAILURES else f"FAIL ({len(FAILURES)} failed: {', '.join(FAILURES)})") + ": overall", flush=True)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()

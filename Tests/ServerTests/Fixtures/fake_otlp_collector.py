#!/usr/bin/env python3
"""A fake OTLP/HTTP trace collector for tests: accepts POST /v1/traces (JSON encoding), appends
each request body as one line to the file given as argv[1], and prints its port on stdout."""
import http.server
import json
import sys

OUT = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = self.path == "/v1/traces" and self.headers.get("Content-Type", "").startswith("application/json")
        if ok:
            json.loads(body)  # must be valid JSON
            with open(OUT, "a") as out:
                out.write(body.decode() + "\n")
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

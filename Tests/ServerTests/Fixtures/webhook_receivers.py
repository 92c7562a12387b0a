"""Webhook receivers for the server's security tests (standard library only).

Listens on three loopback ports chosen by the system and prints them as one JSON line:
  redirect: answers every POST with 302 to the target port (a redirect into the network);
  target:   records any request that reaches it (it must never be reached);
  huge:     answers every POST with a 300 MB body, written until the client hangs up.
Each event is printed as one line ("redirect-hit", "target-hit", "huge-hit", "huge-closed N").
Runs until it is killed.
"""
import http.server
import json
import sys
import threading


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)


def make_handler(kind, target_port):
    class Handler(Quiet):
        def do_POST(self):
            self.read_body()
            if kind == "redirect":
                log("redirect-hit")
                self.send_response(302)
                self.send_header("Location", "http://127.0.0.1:%d/stolen" % target_port)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif kind == "target":
                log("target-hit")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                log("huge-hit")
                total = 300 * 1000 * 1000
                self.send_response(200)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                chunk = b"x" * 65536
                written = 0
                try:
                    while written < total:
                        self.wfile.write(chunk)
                        written += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                log("huge-closed %d" % written)
                self.close_connection = True

        do_GET = do_POST

    return Handler


def serve(kind, target_port=0):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(kind, target_port))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


target = serve("target")
redirect = serve("redirect", target.server_address[1])
huge = serve("huge")
log(json.dumps({"redirect": redirect.server_address[1], "target": target.server_address[1], "huge": huge.server_address[1]}))
threading.Event().wait()

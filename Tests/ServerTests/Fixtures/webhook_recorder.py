"""A webhook receiver for the server tests (standard library only).

Listens on a loopback port chosen by the system and prints it on the first line; then prints
one JSON line per POST it receives: {"path", "token" (X-A2A-Notification-Token), "body"}, and
answers 200. Runs until it is killed.
"""
import http.server
import json
import sys


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        sys.stdout.write(json.dumps({"path": self.path, "token": self.headers.get("X-A2A-Notification-Token"),
                                     "body": body}) + "\n")
        sys.stdout.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
print(server.server_address[1], flush=True)
server.serve_forever()

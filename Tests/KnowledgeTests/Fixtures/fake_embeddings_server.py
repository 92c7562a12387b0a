"""A fake OpenAI-compatible /v1/embeddings endpoint, for tests only.

Prints its port on the first line of stdout, then serves until killed. Behaviour:
- every request must carry `Authorization: Bearer <key>` where key is argv[1], else 401;
- the first `fail_first` requests (argv[2]) answer 503, to exercise retries;
- an input containing "BAD-REQUEST" answers 400 with an error body;
- otherwise each input gets a deterministic 8-dimensional vector (letter counts);
- under other path prefixes (for the HTTP client's bounds): /same-host/v1/embeddings
  redirects (307) to /v1/embeddings; /other-host/v1/embeddings redirects (307) to the same
  port on "localhost" (another host name); /huge-declared/v1/embeddings declares a 17 MiB
  body; /huge-streamed/v1/embeddings sends 17 MiB without declaring a length.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY = sys.argv[1]
FAIL_FIRST = int(sys.argv[2]) if len(sys.argv) > 2 else 0
state = {"requests": 0}


def vector(text):
    v = [0.0] * 8
    for ch in text.lower():
        if "a" <= ch <= "z":
            v[(ord(ch) - 97) % 8] += 1.0
    return v


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, location):
        self.send_response(307)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def huge(self, declared):
        size = 17 << 20
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if declared:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            for _ in range(size >> 20):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        state["requests"] += 1
        port = self.server.server_address[1]
        if self.path == "/same-host/v1/embeddings":
            return self.redirect("/v1/embeddings")
        if self.path == "/other-host/v1/embeddings":
            return self.redirect(f"http://localhost:{port}/v1/embeddings")
        if self.path.startswith("/huge-"):
            return self.huge(declared=self.path.startswith("/huge-declared/"))
        if self.path != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "no route " + self.path}})
        if self.headers.get("Authorization") != "Bearer " + KEY:
            return self.reply(401, {"error": {"message": "invalid api key"}})
        if state["requests"] <= FAIL_FIRST:
            return self.reply(503, {"error": {"message": "warming up"}})
        inputs = body.get("input", [])
        if any("BAD-REQUEST" in text for text in inputs):
            return self.reply(400, {"error": {"message": "input rejected"}})
        data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(inputs)]
        data.reverse()  # the API allows any order; clients must use "index"
        return self.reply(200, {"object": "list", "model": body.get("model"), "data": data})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

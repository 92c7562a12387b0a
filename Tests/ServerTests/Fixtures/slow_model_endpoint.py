"""A slow OpenAI-compatible model endpoint, for the replica failover tests only.

Prints its port, then serves until killed. argv: DELAY_SECONDS [held].
Every POST .../chat/completions waits DELAY_SECONDS, then answers 200 with prose and no JSON
(like ares validate's synthetic model): each of ares's language-model agents then falls back to
its built-in agent, so a research task completes as with the built-in agents, only slower. That
keeps tasks in flight long enough for a replica to be killed or drained while it runs them,
without any test-only setting in ares itself. Anything else is 404.

With "held", every chat completion waits until the endpoint gets SIGUSR1 (then as without it):
no task can end before the test says so, however slowly a loaded machine runs the test itself.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = float(sys.argv[1])
RELEASED = threading.Event()
if len(sys.argv) < 3 or sys.argv[2] != "held":
    RELEASED.set()
signal.signal(signal.SIGUSR1, lambda *_: RELEASED.set())
# The test process starts its children with most signals blocked, and a blocked SIGUSR1 would
# stay pending for ever.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
REPLY = json.dumps({
    "id": "failover-test", "object": "chat.completion", "model": "slow",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The slow test model has no answer."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        if not self.path.endswith("/chat/completions"):
            body = b'{"error":{"message":"not found"}}'
            self.send_response(404)
        else:
            RELEASED.wait()
            time.sleep(DELAY)
            body = REPLY
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

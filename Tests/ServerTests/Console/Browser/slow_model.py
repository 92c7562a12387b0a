"""An OpenAI-compatible chat endpoint that never answers in time: every request waits two
minutes. A server configured with it keeps a research task running (its planner waits for
the model), long enough for the console test to cancel it. Prints its port on the first line."""
import http.server
import sys
import time


class SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        time.sleep(120)
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)

"""An OpenAI-compatible /v1/embeddings endpoint over HTTPS with a private CA, for tests only.

Usage: tls_embeddings_endpoint.py DIR [--require-client-cert]

Makes, with the openssl command line, in DIR: a CA (ca.pem), the server's certificate for
127.0.0.1 and localhost, and a client certificate signed by the same CA (client.pem,
client.key). Prints its port on the first line of stdout, then serves until killed:
- the API key it accepts is read from DIR/accepted-key at every request (so a test can rotate
  it); a request without `Authorization: Bearer <that key>` gets 401;
- with --require-client-cert, the TLS handshake fails without a client certificate of the CA;
- each input gets a deterministic 8-dimensional vector (letter counts);
- a POST to /webhook (a push notification) is answered 200 and noted as one line,
  "webhook-hit", in DIR/webhooks.log.
"""
import json
import os
import ssl
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
REQUIRE_CLIENT_CERT = "--require-client-cert" in sys.argv[2:]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def path(name):
    return os.path.join(DIR, name)


def make_certificates():
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", path("ca.pem"),
            "-days", "2", "-subj", "/CN=ares test model CA")
    extensions = path("server.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"),
            "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", extensions)
    client_extensions = path("client.ext")
    with open(client_extensions, "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("client.key"), "-out", path("client.csr"),
            "-subj", "/CN=ares model client")
    openssl("x509", "-req", "-in", path("client.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("client.pem"), "-days", "2", "-extfile", client_extensions)


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

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/webhook":
            with open(path("webhooks.log"), "a") as f:
                f.write("webhook-hit\n")
            return self.reply(200, {})
        if self.path != "/v1/embeddings":
            return self.reply(404, {"error": {"message": "no route " + self.path}})
        with open(path("accepted-key")) as f:
            accepted = f.read().strip()
        if self.headers.get("Authorization") != "Bearer " + accepted:
            return self.reply(401, {"error": {"message": "invalid api key"}})
        inputs = body.get("input", [])
        data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(inputs)]
        self.reply(200, {"object": "list", "data": data, "model": body.get("model", "")})


make_certificates()
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(path("server.pem"), path("server.key"))
if REQUIRE_CLIENT_CERT:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(path("ca.pem"))
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()

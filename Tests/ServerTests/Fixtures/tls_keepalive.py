#!/usr/bin/env python3
"""One kept-alive HTTPS connection across a certificate rotation (TLSTests).

  tls_keepalive.py PORT CA_FILE MARKER_FILE

Opens a TLS connection to 127.0.0.1:PORT trusting CA_FILE, sends GET /health/live and prints
`first <status> <peer serial>`; waits until MARKER_FILE exists, sends a second request on the
same connection and prints `second <status> <peer serial> <same-socket>`.
"""
import http.client
import os
import ssl
import sys
import time

port, ca_file, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca_file)
connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)


def get(label):
    connection.request("GET", "/health/live")
    response = connection.getresponse()
    response.read()
    serial = connection.sock.getpeercert().get("serialNumber", "?")
    return response.status, serial


status, serial = get("first")
first_socket = connection.sock  # held, so that "is" below cannot match a new socket
print(f"first {status} {serial}", flush=True)
deadline = time.time() + 60
while not os.path.exists(marker):
    if time.time() > deadline:
        print("timeout waiting for the marker", flush=True)
        sys.exit(1)
    time.sleep(0.05)
status, serial = get("second")
print(f"second {status} {serial} {'same-socket' if connection.sock is first_socket else 'new-socket'}", flush=True)

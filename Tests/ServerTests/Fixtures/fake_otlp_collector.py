#!/usr/bin/env python3
"""A fake OTLP/HTTP trace collector for tests: accepts POST /v1/traces in either OTLP/HTTP
encoding, binary protobuf (application/x-protobuf, what swift-otel's exporter sends) or
JSON (application/json), appends each request as one line of OTLP/JSON to the file given as
argv[1], and prints its port on stdout.

Protobuf requests are decoded by hand (no protobuf package needed) into the OTLP/JSON
mapping: trace and span ids as lowercase hex, enums as numbers, 64-bit integers and
timestamps as decimal strings, empty fields left out. Attribute lists are written sorted by
key (their order carries no meaning in OTLP), so that tests can read them stably."""
import http.server
import json
import struct
import sys

OUT = sys.argv[1]


# --- protobuf wire format ---------------------------------------------------------------

def varint(data, i):
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def fields(data):
    """Yields (field number, wire type, value) for one message."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            length, i = varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


# --- OTLP messages (opentelemetry/proto/{collector/trace,trace,common,resource}/v1) ----

def any_value(data):
    for number, _, value in fields(data):
        if number == 1:
            return {"stringValue": value.decode()}
        if number == 2:
            return {"boolValue": bool(value)}
        if number == 3:
            return {"intValue": str(signed64(value))}
        if number == 4:
            return {"doubleValue": struct.unpack("<d", value)[0]}
        if number == 5:
            return {"arrayValue": {"values": [any_value(v) for n, _, v in fields(value) if n == 1]}}
        if number == 6:
            return {"kvlistValue": {"values": key_values([v for n, _, v in fields(value) if n == 1])}}
        if number == 7:
            return {"bytesValue": value.hex()}
    return {}


def key_values(messages):
    pairs = []
    for message in messages:
        pair = {"key": "", "value": {}}
        for number, _, value in fields(message):
            if number == 1:
                pair["key"] = value.decode()
            elif number == 2:
                pair["value"] = any_value(value)
        pairs.append(pair)
    return sorted(pairs, key=lambda pair: pair["key"])


def status(data):
    result = {}
    for number, _, value in fields(data):
        if number == 2 and value:
            result["message"] = value.decode()
        elif number == 3:
            result["code"] = value
    return result


def event(data):
    result, attributes = {}, []
    for number, _, value in fields(data):
        if number == 1:
            result["timeUnixNano"] = str(struct.unpack("<Q", value)[0])
        elif number == 2:
            result["name"] = value.decode()
        elif number == 3:
            attributes.append(value)
    if attributes:
        result["attributes"] = key_values(attributes)
    return result


def span(data):
    result, attributes, events = {}, [], []
    for number, _, value in fields(data):
        if number == 1:
            result["traceId"] = value.hex()
        elif number == 2:
            result["spanId"] = value.hex()
        elif number == 3 and value:
            result["traceState"] = value.decode()
        elif number == 4 and value:
            result["parentSpanId"] = value.hex()
        elif number == 5:
            result["name"] = value.decode()
        elif number == 6:
            result["kind"] = value
        elif number == 7:
            result["startTimeUnixNano"] = str(struct.unpack("<Q", value)[0])
        elif number == 8:
            result["endTimeUnixNano"] = str(struct.unpack("<Q", value)[0])
        elif number == 9:
            attributes.append(value)
        elif number == 11:
            events.append(event(value))
        elif number == 15:
            result["status"] = status(value)
        elif number == 16:
            result["flags"] = struct.unpack("<I", value)[0]
    result["attributes"] = key_values(attributes)
    if events:
        result["events"] = events
    return result


def scope_spans(data):
    result = {"scope": {}, "spans": []}
    for number, _, value in fields(data):
        if number == 1:
            for n, _, v in fields(value):
                if n == 1:
                    result["scope"]["name"] = v.decode()
                elif n == 2:
                    result["scope"]["version"] = v.decode()
        elif number == 2:
            result["spans"].append(span(value))
    return result


def resource_spans(data):
    result = {"resource": {"attributes": []}, "scopeSpans": []}
    for number, _, value in fields(data):
        if number == 1:
            result["resource"]["attributes"] = key_values([v for n, _, v in fields(value) if n == 1])
        elif number == 2:
            result["scopeSpans"].append(scope_spans(value))
    return result


def export_request(data):
    return {"resourceSpans": [resource_spans(value) for number, _, value in fields(data) if number == 1]}


# --- HTTP ---------------------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        request = None
        if self.path == "/v1/traces":
            if content_type.startswith("application/x-protobuf"):
                request = export_request(body)
            elif content_type.startswith("application/json"):
                request = json.loads(body)  # must be valid JSON
                for resource in request.get("resourceSpans", []):
                    attributes = resource.get("resource", {}).get("attributes", [])
                    attributes.sort(key=lambda pair: pair.get("key", ""))
        if request is not None:
            with open(OUT, "a") as out:
                out.write(json.dumps(request) + "\n")
        self.send_response(200 if request is not None else 400)
        # An empty ExportTraceServiceResponse, in the request's encoding.
        if content_type.startswith("application/x-protobuf"):
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

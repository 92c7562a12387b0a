"""A fake OpenAI-compatible /v1/chat/completions endpoint, for tests only.

Prints its port, then serves until killed. argv: KEY MODE, MODE being
- "good": writes a report from the "[n] sentence" evidence lines of the user message, one
  section per "Sub-question" line, plus one invented sentence (which the citation checker
  must drop), wrapped in a Markdown code fence;
  a planning request (system prompt "You plan research") gets one sub-question per "and"-part;
- "down": answers 503 to everything.
Requests without `Authorization: Bearer KEY` get 401.
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEY, MODE = sys.argv[1], sys.argv[2]


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
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.headers.get("Authorization") != "Bearer " + KEY:
            return self.reply(401, {"error": {"message": "invalid api key"}})
        if MODE == "down" or self.path != "/v1/chat/completions":
            return self.reply(503, {"error": {"message": "overloaded"}})
        user = body["messages"][-1]["content"]
        if "You plan research" in body["messages"][0]["content"]:
            parts = [p.strip() for p in user.replace("?", "").split(" and ") if p.strip()]
            plan = {"subQuestions": [{"question": p + "?", "queries": [p.lower(), "postgresql " + p.lower()]} for p in parts]}
            return self.reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(plan)}}]})
        sections, current = [], None
        for line in user.splitlines():
            heading = re.match(r"Sub-question \w+: (.*)", line)
            evidence = re.match(r"\[(\d+)\] (.*)", line)
            if heading:
                current = {"title": heading.group(1), "text": ""}
                sections.append(current)
            elif evidence and current is not None and not current["text"]:
                current["text"] = f"{evidence.group(2)} [{evidence.group(1)}]"
        sections[0]["text"] += " The moon is made of cheese. [1]"
        report = {"answer": sections[0]["text"].split(" The moon")[0], "sections": sections}
        content = "```json\n" + json.dumps(report) + "\n```"
        return self.reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

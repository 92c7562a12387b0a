"""A fake OpenAI-compatible /v1/chat/completions endpoint, for tests only.

Prints its port, then serves until killed. argv: KEY MODE, MODE being
- "good": writes a report from the "[n] sentence" evidence lines of the user message, one
  section per "Sub-question" line, plus one invented sentence (which the citation checker
  must drop), wrapped in a Markdown code fence;
  a planning request (system prompt "You plan research") gets one sub-question per "and"-part;
  an evidence request ("You pick evidence") quotes the first sentence of every passage, plus
  one invented sentence "attributed" to passage 1;
  a coverage request ("You judge research") scores a sub-question with evidence 0.9 and one
  without 0.1, proposing the query "<sub-question> explained";
  a citation request ("You check citations") judges a claim unsupported when a passage it
  cites contains " not " and the claim does not (a dropped negation), else supported;
- "garbage": answers 200 with prose and no JSON;
- "down": answers 503 to everything;
- "strict": like "good", but as a server with structured output: a request without
  `response_format` {"type": "json_schema", "json_schema": {"name": <the agent>, "strict": true,
  "schema": {...}}} gets 400, and every reply is checked against the request's schema (a reply
  that does not fit is this fake's bug: 500); replies carry `usage` token counts;
- "truncated": answers the start of a JSON object with finish_reason "length".
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

    def answer(self, content):
        if MODE == "strict":
            problems = conforms(json.loads(content.strip().removeprefix("```json").removesuffix("```")), self.schema, "$")
            if problems:
                return self.reply(500, {"error": {"message": "the fake's reply does not fit the schema: " + "; ".join(problems)}})
            usage = {"prompt_tokens": sum(len(m["content"].split()) for m in self.body["messages"]),
                     "completion_tokens": len(content.split())}
            return self.reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                                 "finish_reason": "stop"}], "usage": usage})
        self.reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.headers.get("Authorization") != "Bearer " + KEY:
            return self.reply(401, {"error": {"message": "invalid api key"}})
        if MODE == "down" or self.path != "/v1/chat/completions":
            return self.reply(503, {"error": {"message": "overloaded"}})
        user = body["messages"][-1]["content"]
        system = body["messages"][0]["content"]
        if MODE == "garbage":
            return self.answer("I am sorry, I cannot help with that.")
        if MODE == "truncated":
            return self.reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": '{"subQuestions": [{"question": "'},
                                                 "finish_reason": "length"}]})
        if MODE == "strict":
            self.body = body
            expected = next(name for prefix, name in AGENTS if prefix in system)
            fmt = body.get("response_format") or {}
            named = fmt.get("json_schema") or {}
            if fmt.get("type") != "json_schema" or named.get("name") != expected or named.get("strict") is not True \
                    or (named.get("schema") or {}).get("type") != "object":
                return self.reply(400, {"error": {"message": f"expected response_format json_schema named {expected}, got {fmt}"}})
            self.schema = named["schema"]
        if system.startswith("You pick evidence"):
            return self.answer(json.dumps(pick_evidence(user)))
        if system.startswith("You judge research"):
            return self.answer(json.dumps(judge_coverage(user)))
        if system.startswith("You check citations"):
            return self.answer(json.dumps(check_citations(user)))
        if "You plan research" in system:
            parts = [p.strip() for p in user.replace("?", "").split(" and ") if p.strip()]
            plan = {"subQuestions": [{"question": p + "?", "queries": [p.lower(), "postgresql " + p.lower()]} for p in parts]}
            return self.answer(json.dumps(plan))
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
        return self.answer(content)


# Which agent a request comes from (its system prompt), and the schema name it must send.
AGENTS = [("You plan research", "planner"), ("You pick evidence", "researcher"), ("You judge research", "evaluator"),
          ("You write short research reports", "synthesizer"), ("You check citations", "citation_checker")]


def conforms(value, schema, path):
    """What in `value` breaks `schema` (the subset ares sends: object, array, string, enum,
    number, integer, boolean, with required, additionalProperties, min/maxItems, minimum/maximum)."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path} is not an object"]
        problems = [f"{path}.{key} is missing" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{path}.{key} is not allowed" for key in value if key not in schema["properties"]]
        for key, sub in schema["properties"].items():
            if key in value:
                problems += conforms(value[key], sub, f"{path}.{key}")
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path} is not an array"]
        problems = []
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{path} has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{path} has more than {schema['maxItems']} items")
        for index, item in enumerate(value):
            problems += conforms(item, schema["items"], f"{path}[{index}]")
        return problems
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path} is not a string"]
        return [f"{path} is not one of {schema['enum']}"] if "enum" in schema and value not in schema["enum"] else []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path} is not a boolean"]
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "integer" and not isinstance(value, int)):
            return [f"{path} is not an {kind}"]
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return [f"{path} = {value} is out of range"]
        return []
    return [f"{path}: the schema has an unknown type {kind!r}"]


def numbered_passages(text):
    """{n: passage text} from "[n] text" paragraphs."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\[(\d+)\] (.*)$", text, re.M)}


def pick_evidence(user):
    items = []
    for number, text in numbered_passages(user.split("Passages:", 1)[1]).items():
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        items.append({"passage": number, "sentence": first, "relevance": 0.9})
    items.append({"passage": 1, "sentence": "PostgreSQL was first released on the moon in 1802.", "relevance": 1.0})
    return {"evidence": items}


def judge_coverage(user):
    judged = []
    for block in user.split("\n\n"):
        m = re.match(r"Sub-question (\w+): (.*)", block)
        if not m:
            continue
        if "(no evidence)" in block:
            judged.append({"id": m.group(1), "coverage": 0.1, "queries": [m.group(2) + " explained"]})
        else:
            judged.append({"id": m.group(1), "coverage": 0.9, "queries": []})
    return {"subQuestions": judged}


def check_citations(user):
    head, claims = user.split("\n\nClaims:\n", 1)
    passages = numbered_passages(head)
    verdicts = []
    for line in claims.splitlines():
        m = re.match(r"(\d+)\. (.*)", line)
        if not m:
            continue
        cited = [passages.get(int(n), "") for n in re.findall(r"\[(\d+)\]", m.group(2))]
        dropped_not = any(" not " in p for p in cited) and " not " not in m.group(2)
        verdicts.append({"claim": int(m.group(1)), "supported": not dropped_not})
    return {"verdicts": verdicts}


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

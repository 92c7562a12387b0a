"""Locust users for ares: the request mix of `ares validate`, through the A2A 1.0 JSON-RPC binding.

Each simulated user acts like an orchestrator: it submits research questions (SendMessage with
returnImmediately), polls its tasks with GetTask until they end, lists its tasks, reads the agent
card and searches the knowledge base (ares/search). The weights are those of `ares validate`'s
built-in mix (SubscribeToTask streams are left out: Locust's HTTP client does not follow
server-sent events). A JSON-RPC error is a failure, whatever the HTTP status; so is a response
whose id is not the request's.

The credential is never a flag: ARES_LOCUST_KEY_FILE names a file whose first line is an API key
(or an OAuth2 access token) of role researcher or admin.

    ARES_LOCUST_KEY_FILE=~/.ares-key locust -f validate/locustfile.py --headless \
        -u 50 -r 10 -t 60s --host http://127.0.0.1:8080 --csv results/ares
"""

import itertools
import os
import random
import time
import uuid

from locust import HttpUser, between, events, task

CREDENTIAL_VARIABLE = "ARES_LOCUST_KEY_FILE"

QUESTIONS = [
    "How are interrupted research tasks resumed after a crash?",
    "How do I back up and restore the data directory?",
    "Which roles can submit research tasks?",
    "How are API keys stored and revoked?",
    "What does the hybrid search combine?",
    "How does ares rate-limit a principal?",
    "What does the agent card announce?",
    "How are citations checked against the passages?",
]
SEARCH_QUERIES = ["backup restore", "api key revoke", "rate limit", "hash chain verify", "agent card",
                  "hybrid search vector keyword", "task resume crash", "tls client certificate"]
TERMINAL_STATES = {"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"}


def read_credential():
    """The first line of the file ARES_LOCUST_KEY_FILE names; a clear error when it is missing."""
    path = os.environ.get(CREDENTIAL_VARIABLE, "")
    if not path:
        raise SystemExit(f"set {CREDENTIAL_VARIABLE} to a file holding an ares API key (role researcher or admin)")
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            credential = handle.readline().strip()
    except OSError as error:
        raise SystemExit(f"cannot read the credential file {path}: {error.strerror}") from None
    if not credential:
        raise SystemExit(f"the credential file {path} is empty")
    return credential


CREDENTIAL = None


@events.init.add_listener
def load_credential(environment, **_kwargs):
    # Read once, at start: a missing file stops the run before any user starts.
    global CREDENTIAL
    CREDENTIAL = read_credential()


class AresOrchestrator(HttpUser):
    """One orchestrator: submits, polls, lists, reads the card and searches (weights of `ares validate`)."""

    wait_time = between(0.05, 0.2)
    _ids = itertools.count(1)

    def on_start(self):
        self.headers = {
            "Authorization": f"Bearer {CREDENTIAL}",
            "A2A-Version": "1.0",
            "Content-Type": "application/json",
        }
        # Tasks still running: id -> when SendMessage acknowledged it.
        self.pending = {}
        self.finished = []
        # Every user starts with a task of its own, so that GetTask has one to poll at once.
        self.send_message()

    def rpc(self, method, params):
        """One JSON-RPC call; its result, or None after recording the failure."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        with self.client.post("/a2a", json=body, headers=self.headers, name=method, catch_response=True) as response:
            if response.status_code >= 400 and not response.content:
                response.failure(f"HTTP {response.status_code}")
                return None
            try:
                answer = response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                return None
            if not isinstance(answer, dict):
                response.failure("the answer is not a JSON-RPC response object")
                return None
            error = answer.get("error")
            if error is not None:
                message = str(error.get("message", ""))[:120] if isinstance(error, dict) else str(error)[:120]
                code = error.get("code") if isinstance(error, dict) else None
                response.failure(f"JSON-RPC error {code}: {message}")
                return None
            if answer.get("id") != request_id:
                response.failure(f"the response id {answer.get('id')!r} is not the request's {request_id}")
                return None
            if "result" not in answer:
                response.failure("a response without result or error")
                return None
            response.success()
            return answer["result"]

    @task(5)
    def send_message(self):
        result = self.rpc("SendMessage", {
            "message": {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": random.choice(QUESTIONS)}]},
            "configuration": {"returnImmediately": True},
        })
        task_id = (result or {}).get("task", {}).get("id")
        if task_id:
            self.pending[task_id] = time.monotonic()

    @task(40)
    def get_task(self):
        # Poll the oldest running task until it ends; with none running, reread a finished one.
        if self.pending:
            task_id = next(iter(self.pending))
        elif self.finished:
            task_id = random.choice(self.finished)
        else:
            return
        result = self.rpc("GetTask", {"id": task_id, "historyLength": 0})
        state = ((result or {}).get("status") or {}).get("state")
        if task_id in self.pending and state in TERMINAL_STATES:
            started = self.pending.pop(task_id)
            self.finished = (self.finished + [task_id])[-20:]
            # How long a task took from acknowledgement to its end, as seen by polling.
            events.request.fire(request_type="TASK", name=f"research task ({state})",
                                response_time=(time.monotonic() - started) * 1000, response_length=0,
                                exception=None if state == "TASK_STATE_COMPLETED" else Exception(state), context={})

    @task(10)
    def list_tasks(self):
        self.rpc("ListTasks", {"pageSize": 20})

    @task(25)
    def agent_card(self):
        with self.client.get("/.well-known/agent-card.json", name="agent card", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            try:
                card = response.json()
            except ValueError:
                response.failure("not JSON")
                return
            if not isinstance(card, dict) or not card.get("supportedInterfaces"):
                response.failure("the card names no interface")
            else:
                response.success()

    @task(18)
    def search(self):
        self.rpc("ares/search", {"query": random.choice(SEARCH_QUERIES), "limit": 5})

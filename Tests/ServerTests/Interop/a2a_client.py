#!/usr/bin/env python3
"""A2A 1.0 interop check using the official a2a-sdk==1.3.0 CLIENT (JSON-RPC binding).

  python Tests/ServerTests/Interop/a2a_client.py --url http://127.0.0.1:9999 [--api-key KEY]
        [--auth-header Authorization] [--auth-source both|card|static] [--expect-report]
        [--question TEXT] [--timeout 300] [--webhook-host 127.0.0.1]

Prints one line per check: PASS/FAIL/SKIP <name> <detail>. Exit 1 if any FAIL.

Auth: --auth-source card   -> SDK AuthInterceptor; credential = KEY for every scheme the card lists
                              (http bearer/oauth2/oidc -> "Authorization: Bearer KEY";
                               apiKey in header -> "<scheme.name>: KEY").
      --auth-source static -> fixed header on every request (incl. the card GET):
                              --auth-header Authorization (default) -> "Authorization: Bearer KEY",
                              any other NAME -> "NAME: KEY".
      --auth-source both   -> (default) both of the above.
--expect-report: require the completed task to carry an artifact with a text part of
  mediaType text/markdown and a data part (ares research report). Against the SDK echo server use
  --question '/artifact what is A2A?' to make the echo agent emit such an artifact.
"""

import argparse
import asyncio
import json
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from a2a.client import (
    A2ACardResolver,
    AuthInterceptor,
    ClientConfig,
    ClientFactory,
    CredentialService,
)
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import A2AError, TaskNotCancelableError, TaskNotFoundError

TERMINAL = {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED,
            TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED}
INTERRUPTED = {TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED}

results: list[tuple[str, str, str]] = []


def report(status: str, name: str, detail: str = '') -> None:
    results.append((status, name, detail))
    print(f'{status:4} {name:28} {detail}', flush=True)


def sname(s: int) -> str:
    return TaskState.Name(s)


class KeyCredentials(CredentialService):
    def __init__(self, key: str):
        self.key = key

    async def get_credentials(self, security_scheme_name, context):
        return self.key


# ---------------------------------------------------------------- webhook
class Webhook:
    def __init__(self, host: str):
        self.posts: list[dict] = []
        self.cv = threading.Condition()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get('content-length') or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except Exception:
                    body = raw.decode(errors='replace')
                with outer.cv:
                    outer.posts.append({'path': self.path, 'headers': {k.lower(): v for k, v in self.headers.items()},
                                        'body': body})
                    outer.cv.notify_all()
                self.send_response(200)
                self.send_header('content-length', '0')
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer((host, 0), H)
        self.url = f'http://{host}:{self.srv.server_address[1]}'
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout: float):
        end = time.time() + timeout
        with self.cv:
            while True:
                for p in self.posts:
                    if pred(p):
                        return p
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def close(self):
        self.srv.shutdown()


# ---------------------------------------------------------------- helpers
def user_msg(text: str, **kw) -> Message:
    return Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)], **kw)


def check_report(task, expect_report: bool) -> tuple[bool, str]:
    arts = list(task.artifacts)
    md = [p for a in arts for p in a.parts if p.HasField('text') and p.media_type == 'text/markdown']
    txt = [p for a in arts for p in a.parts if p.HasField('text')]
    data = [p for a in arts for p in a.parts if p.HasField('data')]
    detail = f'artifacts={len(arts)} text_parts={len(txt)} markdown_parts={len(md)} data_parts={len(data)}'
    if not expect_report:
        return True, detail
    return bool(md and data and md[0].text.strip()), detail


async def send_collect(client, req, timeout):
    events = []
    async def run():
        async for ev in client.send_message(req):
            events.append(ev)
    await asyncio.wait_for(run(), timeout)
    return events


def task_of(events):
    for ev in events:
        if ev.HasField('task'):
            return ev.task
    return None


async def poll_terminal(client, task_id, timeout, interval=0.5):
    end = time.time() + timeout
    t = None
    while time.time() < end:
        t = await client.get_task(GetTaskRequest(id=task_id))
        if t.status.state in TERMINAL or t.status.state in INTERRUPTED:
            return t
        await asyncio.sleep(interval)
    return t


# ---------------------------------------------------------------- main
async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True, help='base URL (card at URL/.well-known/agent-card.json)')
    ap.add_argument('--api-key', default=None)
    ap.add_argument('--auth-header', default='Authorization')
    ap.add_argument('--auth-source', choices=['both', 'card', 'static'], default='both')
    ap.add_argument('--expect-report', action='store_true')
    ap.add_argument('--question', default='What is the Agent2Agent (A2A) protocol? Answer briefly.')
    ap.add_argument('--cancel-question', default=None, help='message for the cancel test (default: --question)')
    ap.add_argument('--timeout', type=float, default=300.0, help='per-task timeout (s)')
    ap.add_argument('--webhook-host', default='127.0.0.1')
    ap.add_argument('--ca-file', default=None, help='PEM CA bundle to verify an https server with (default: the system roots)')
    ap.add_argument('--client-cert', default=None, help='PEM client certificate for mutual TLS (with --client-key)')
    ap.add_argument('--client-key', default=None, help='PEM private key of --client-cert')
    ap.add_argument('--skip', default='', help='comma list of checks to skip: blocking,nonblocking,stream,cancel,push,list,errors,extcard')
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(',')))
    cancel_q = a.cancel_question or a.question

    headers = {}
    if a.api_key and a.auth_source in ('both', 'static'):
        if a.auth_header.lower() == 'authorization':
            headers['Authorization'] = f'Bearer {a.api_key}'
        else:
            headers[a.auth_header] = a.api_key
    # HTTPS: httpx takes one SSL context for the CA to trust and the client certificate to present.
    verify = True
    if a.ca_file or a.client_cert:
        verify = ssl.create_default_context(cafile=a.ca_file)
        if a.client_cert:
            verify.load_cert_chain(a.client_cert, a.client_key)
    http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(a.timeout, connect=10), verify=verify)
    interceptors = [AuthInterceptor(KeyCredentials(a.api_key))] if a.api_key and a.auth_source in ('both', 'card') else []

    # 1. card
    try:
        http.headers.setdefault('A2A-Version', '1.0')
        card = await A2ACardResolver(http, a.url).get_agent_card()
        jr = [i for i in card.supported_interfaces if i.protocol_binding == 'JSONRPC']
        missing = [f for f in ('name', 'description', 'version') if not getattr(card, f)]
        if not card.HasField('capabilities'):
            missing.append('capabilities')
        for f in ('default_input_modes', 'default_output_modes', 'skills', 'supported_interfaces'):
            if not getattr(card, f):
                missing.append(f)
        sec = {k: v.WhichOneof('scheme') for k, v in card.security_schemes.items()}
        reqs = [list(r.schemes.keys()) for r in card.security_requirements]
        detail = (f'name={card.name!r} jsonrpc={[(i.url, i.protocol_version) for i in jr]} '
                  f'streaming={card.capabilities.streaming} push={card.capabilities.push_notifications} '
                  f'extended={card.capabilities.extended_agent_card} securitySchemes={sec} securityRequirements={reqs}')
        ok = bool(jr) and not missing and any(i.protocol_version.startswith('1.') for i in jr)
        report('PASS' if ok else 'FAIL', 'agent_card', detail + (f' MISSING={missing}' if missing else ''))
        if not jr:
            return finish(http)
    except Exception as e:
        report('FAIL', 'agent_card', repr(e))
        return finish(http)

    f_block = ClientFactory(ClientConfig(httpx_client=http, streaming=False, supported_protocol_bindings=['JSONRPC']))
    f_stream = ClientFactory(ClientConfig(httpx_client=http, streaming=True, supported_protocol_bindings=['JSONRPC']))
    c = f_block.create(card, interceptors)
    cs = f_stream.create(card, interceptors)
    accepted = ['text/markdown', 'text/plain', 'application/json']
    tasks_seen = []

    # 2. blocking SendMessage
    if 'blocking' not in skip:
        try:
            t0 = time.time()
            ev = await send_collect(c, SendMessageRequest(
                message=user_msg(a.question),
                configuration=SendMessageConfiguration(accepted_output_modes=accepted)), a.timeout)
            t = task_of(ev)
            if t is None:
                m = ev[0].message if ev and ev[0].HasField('message') else None
                report('FAIL' if a.expect_report else 'PASS', 'send_blocking',
                       f'got Message not Task: {m.parts[0].text[:80] if m and m.parts else ev!r}')
            else:
                tasks_seen.append(t.id)
                ok_r, d = check_report(t, a.expect_report)
                ok = t.status.state == TaskState.TASK_STATE_COMPLETED and ok_r
                report('PASS' if ok else 'FAIL', 'send_blocking',
                       f'task={t.id} state={sname(t.status.state)} {d} {time.time() - t0:.1f}s')
        except Exception as e:
            report('FAIL', 'send_blocking', repr(e))

    # 3. non-blocking (returnImmediately) + GetTask polling
    if 'nonblocking' not in skip:
        try:
            ev = await send_collect(c, SendMessageRequest(
                message=user_msg(a.question),
                configuration=SendMessageConfiguration(accepted_output_modes=accepted, return_immediately=True)), 60)
            t = task_of(ev)
            if t is None:
                report('FAIL', 'send_nonblocking', f'no task in response: {ev!r}'[:200])
            else:
                first = sname(t.status.state)
                tasks_seen.append(t.id)
                t2 = await poll_terminal(c, t.id, a.timeout)
                ok_r, d = check_report(t2, a.expect_report)
                ok = t2.status.state == TaskState.TASK_STATE_COMPLETED and ok_r
                report('PASS' if ok else 'FAIL', 'send_nonblocking+get_task',
                       f'task={t.id} initial={first} final={sname(t2.status.state)} {d}')
        except Exception as e:
            report('FAIL', 'send_nonblocking+get_task', repr(e))

    # 4. streaming
    if 'stream' not in skip:
        if not card.capabilities.streaming:
            report('SKIP', 'send_streaming', 'card.capabilities.streaming is false')
        else:
            try:
                ev = await send_collect(cs, SendMessageRequest(
                    message=user_msg(a.question),
                    configuration=SendMessageConfiguration(accepted_output_modes=accepted)), a.timeout)
                kinds = [e.WhichOneof('payload') for e in ev]
                states = [sname(e.status_update.status.state) for e in ev if e.HasField('status_update')]
                arts = [e.artifact_update for e in ev if e.HasField('artifact_update')]
                final = None
                if ev:
                    last = ev[-1]
                    if last.HasField('status_update'):
                        final = last.status_update.status.state
                    elif last.HasField('task'):
                        final = last.task.status.state
                ok = final == TaskState.TASK_STATE_COMPLETED and bool(states)
                if a.expect_report:
                    parts = [p for u in arts for p in u.artifact.parts]
                    ok = ok and any(p.HasField('text') and p.media_type == 'text/markdown' for p in parts) \
                        and any(p.HasField('data') for p in parts)
                tid = next((e.task.id for e in ev if e.HasField('task')), None) or \
                    next((e.status_update.task_id for e in ev if e.HasField('status_update')), '?')
                report('PASS' if ok else 'FAIL', 'send_streaming',
                       f'task={tid} events={len(ev)} kinds={kinds} states={states} artifactUpdates={len(arts)} '
                       f'final={sname(final) if final is not None else None}')
            except Exception as e:
                report('FAIL', 'send_streaming', repr(e))

    # 5. cancel
    if 'cancel' not in skip:
        try:
            ev = await send_collect(c, SendMessageRequest(
                message=user_msg(cancel_q),
                configuration=SendMessageConfiguration(return_immediately=True)), 60)
            t = task_of(ev)
            if t is None:
                report('FAIL', 'cancel_task', 'no task from non-blocking send')
            else:
                try:
                    ct = await c.cancel_task(CancelTaskRequest(id=t.id))
                    g = await c.get_task(GetTaskRequest(id=t.id))
                    ok = ct.status.state == TaskState.TASK_STATE_CANCELED and g.status.state == TaskState.TASK_STATE_CANCELED
                    report('PASS' if ok else 'FAIL', 'cancel_task',
                           f'outcome=CANCELED cancel_result={sname(ct.status.state)} get_task={sname(g.status.state)}')
                except TaskNotCancelableError as e:
                    g = await c.get_task(GetTaskRequest(id=t.id))
                    ok = g.status.state in TERMINAL
                    report('PASS' if ok else 'FAIL', 'cancel_task',
                           f'outcome=TaskNotCancelable(-32002) ({e}); task state={sname(g.status.state)}')
        except Exception as e:
            report('FAIL', 'cancel_task', repr(e))

    # 6. push notifications
    if 'push' not in skip:
        if not card.capabilities.push_notifications:
            report('SKIP', 'push_inline', 'card.capabilities.pushNotifications is false')
        else:
            wh = Webhook(a.webhook_host)
            try:
                # 6a: push config inside SendMessage configuration (no race)
                tok = 'tok-' + uuid.uuid4().hex[:12]
                ev = await send_collect(c, SendMessageRequest(
                    message=user_msg(a.question),
                    configuration=SendMessageConfiguration(
                        return_immediately=True,
                        task_push_notification_config=TaskPushNotificationConfig(url=wh.url + '/inline', token=tok))), 60)
                t = task_of(ev)
                tid = t.id if t else None
                p = wh.wait_for(lambda p: p['headers'].get('x-a2a-notification-token') == tok, 30)
                if p:
                    body = p['body']
                    kind = next(iter(body)) if isinstance(body, dict) and body else type(body).__name__
                    report('PASS', 'push_inline', f'task={tid} webhook got POST {p["path"]} X-A2A-Notification-Token ok, body key={kind}')
                else:
                    report('FAIL', 'push_inline', f'task={tid} no POST with token within 30s (posts={len(wh.posts)})')
                # wait until that task is terminal, count posts
                if tid:
                    fin = await poll_terminal(c, tid, a.timeout)
                    n = len([x for x in wh.posts if x['headers'].get('x-a2a-notification-token') == tok])
                    got_final = wh.wait_for(lambda p: p['headers'].get('x-a2a-notification-token') == tok and _is_terminal_body(p['body']), 15)
                    report('PASS' if got_final else 'FAIL', 'push_inline_terminal',
                           f'final task state={sname(fin.status.state)} posts_with_token={n} terminal_post={bool(got_final)}')

                # 6b: CRUD via the client on a fresh non-blocking task
                tok2 = 'tok-' + uuid.uuid4().hex[:12]
                ev = await send_collect(c, SendMessageRequest(
                    message=user_msg(cancel_q), configuration=SendMessageConfiguration(return_immediately=True)), 60)
                t = task_of(ev)
                cfg = await c.create_task_push_notification_config(TaskPushNotificationConfig(
                    task_id=t.id, url=wh.url + '/crud', token=tok2))
                cfg_id = cfg.id
                st_at_create = sname((await c.get_task(GetTaskRequest(id=t.id))).status.state)
                got = await c.get_task_push_notification_config(GetTaskPushNotificationConfigRequest(task_id=t.id, id=cfg_id))
                lst = await c.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=t.id))
                ok = (cfg.url == wh.url + '/crud' and cfg.token == tok2 and got.id == cfg_id and
                      any(x.id == cfg_id for x in lst.configs))
                report('PASS' if ok else 'FAIL', 'push_config_create_get_list',
                       f'task={t.id} id={cfg_id!r} listed={len(lst.configs)} task_state_at_create={st_at_create}')
                fin = await poll_terminal(c, t.id, a.timeout)
                p = wh.wait_for(lambda p: p['headers'].get('x-a2a-notification-token') == tok2, 15)
                if p:
                    report('PASS', 'push_config_delivery', f'POST {p["path"]} with token, final={sname(fin.status.state)}')
                elif st_at_create in ('TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED'):
                    report('SKIP', 'push_config_delivery', 'task already terminal when config was created; no event to push')
                else:
                    report('FAIL', 'push_config_delivery', f'no POST with token2 (final={sname(fin.status.state)})')
                await c.delete_task_push_notification_config(DeleteTaskPushNotificationConfigRequest(task_id=t.id, id=cfg_id))
                lst2 = await c.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=t.id))
                report('PASS' if not any(x.id == cfg_id for x in lst2.configs) else 'FAIL', 'push_config_delete',
                       f'remaining={len(lst2.configs)}')
            except Exception as e:
                report('FAIL', 'push', repr(e))
            finally:
                wh.close()

    # 7. ListTasks
    if 'list' not in skip:
        try:
            r = await c.list_tasks(ListTasksRequest(page_size=50))
            ids = {t.id for t in r.tasks}
            ok = all(i in ids for i in tasks_seen[:1]) if tasks_seen else True
            report('PASS' if ok else 'FAIL', 'list_tasks',
                   f'tasks={len(r.tasks)} totalSize={r.total_size} pageSize={r.page_size} nextPageToken={bool(r.next_page_token)}')
        except Exception as e:
            report('FAIL', 'list_tasks', repr(e))

    # 8. errors
    if 'errors' not in skip:
        try:
            await c.get_task(GetTaskRequest(id='does-not-exist-' + uuid.uuid4().hex))
            report('FAIL', 'error_task_not_found', 'no error raised')
        except TaskNotFoundError as e:
            report('PASS', 'error_task_not_found', f'TaskNotFoundError(-32001): {e}')
        except Exception as e:
            report('FAIL', 'error_task_not_found', repr(e))

    # 9. extended card
    if 'extcard' not in skip:
        if not card.capabilities.extended_agent_card:
            report('SKIP', 'extended_agent_card', 'capabilities.extendedAgentCard false')
        else:
            try:
                ec = await c.get_extended_agent_card(GetExtendedAgentCardRequest())
                report('PASS' if ec.name else 'FAIL', 'extended_agent_card', f'name={ec.name!r} desc={ec.description[:60]!r}')
            except A2AError as e:
                report('FAIL', 'extended_agent_card', f'{type(e).__name__}: {e}')
            except Exception as e:
                report('FAIL', 'extended_agent_card', repr(e))

    await c.close()
    await cs.close()
    return finish(http)


def _is_terminal_body(body) -> bool:
    if not isinstance(body, dict):
        return False
    st = None
    if 'statusUpdate' in body:
        st = body['statusUpdate'].get('status', {}).get('state')
    elif 'task' in body:
        st = body['task'].get('status', {}).get('state')
    return st in ('TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED')


def finish(http) -> int:
    try:
        asyncio.get_event_loop().create_task(http.aclose())
    except Exception:
        pass
    n_fail = sum(1 for s, _, _ in results if s == 'FAIL')
    print(f'SUMMARY pass={sum(1 for s, _, _ in results if s == "PASS")} fail={n_fail} '
          f'skip={sum(1 for s, _, _ in results if s == "SKIP")}')
    return 1 if n_fail else 0


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))

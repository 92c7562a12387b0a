#!/usr/bin/env python3
"""Reference A2A 1.0 server: official a2a-sdk==1.3.0, JSON-RPC binding, echo agent.

Benchmark reference: "the official Python A2A SDK server (one uvicorn worker, an echo agent)".

  /tmp/a2a/venv/bin/python /tmp/a2a/echo_server.py --port 9999 [--api-key KEY] [--no-tck] [--no-compat03]

Default behaviour (any normal message): task -> TASK_STATE_COMPLETED with status.message
= agent message echoing the user's text ("echo: <text>"). No artifacts.
Extras (never triggered by plain benchmark traffic):
  * text starting with "/sleep N"   -> TASK_STATE_WORKING, sleep N s, then complete (for cancel tests)
  * text starting with "/artifact"  -> adds a text/markdown artifact + data part, then complete
  * messageId prefixes "tck-*" / "test-resubscribe-message-id*" -> a2a-tck 1.0-dev scenario
    behaviours (copied from a2a-tck sut/a2a-python/sut_agent.py), unless --no-tck.
--api-key KEY: require "Authorization: Bearer KEY" on the JSON-RPC endpoint (card stays public).
"""

import argparse
import asyncio
import logging

import httpx
import uvicorn
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Value
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse

from a2a.server.agent_execution.agent_executor import AgentExecutor
from a2a.server.agent_execution.context import RequestContext
from a2a.server.events.event_queue import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentProvider,
    AgentSkill,
    HTTPAuthSecurityScheme,
    Part,
    SecurityRequirement,
    SecurityScheme,
    StringList,
    Task,
    TaskState,
    TaskStatus,
)
from a2a.utils.errors import A2AError

logger = logging.getLogger('echo_server')
TCK = True


class EchoAgentExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id, context.context_id
        updater = TaskUpdater(event_queue, task_id, context_id)
        msg = context.message
        mid = msg.message_id if msg else ''
        text = context.get_user_input() if msg else ''

        if TCK and mid.startswith('tck-message-response'):
            await event_queue.enqueue_event(updater.new_agent_message([Part(text='Direct message response')]))
            return
        # a2a-sdk 1.3.0 (DefaultRequestHandlerV2) requires the Task to be enqueued first.
        if context.current_task is None:
            await event_queue.enqueue_event(Task(
                id=task_id, context_id=context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[msg] if msg else []))
        if TCK and (mid.startswith('tck-') or mid.startswith('test-resubscribe-message-id')):
            return await self._tck(mid, updater, event_queue)

        if text.startswith('/sleep'):
            try:
                secs = float(text.split()[1])
            except Exception:
                secs = 5.0
            await updater.start_work()
            await asyncio.sleep(secs)
            await updater.complete(updater.new_agent_message([Part(text=f'slept {secs}s')]))
            return
        if text.startswith('/artifact'):
            await updater.start_work()
            await updater.add_artifact(
                parts=[
                    Part(text='# Report\n\necho: ' + text, media_type='text/markdown'),
                    Part(data=json_format.Parse('{"sources": [], "echo": true}', Value()),
                         media_type='application/json'),
                ],
                name='report',
            )
            await updater.complete()
            return
        await updater.complete(updater.new_agent_message([Part(text='echo: ' + text)]))

    async def _tck(self, mid: str, updater: TaskUpdater, event_queue: EventQueue) -> None:
        if mid.startswith('tck-stream-artifact-chunked'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(text='chunk-1 ')], append=True)
            await updater.add_artifact(parts=[Part(text='chunk-2')], append=True, last_chunk=True)
            await updater.complete()
        elif mid.startswith('test-resubscribe-message-id'):
            await updater.start_work()
            await asyncio.sleep(4)
            await updater.complete()
        elif mid.startswith('tck-stream-artifact-text'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(text='Streamed text content')])
            await updater.complete()
        elif mid.startswith('tck-stream-artifact-file'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(raw=b'tck', media_type='text/plain', filename='output.txt')])
            await updater.complete()
        elif mid.startswith('tck-stream-ordering-001'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(text='Ordered output')])
            await updater.complete()
        elif mid.startswith('tck-artifact-file-url'):
            await updater.add_artifact(parts=[Part(url='https://example.com/output.txt', media_type='text/plain', filename='output.txt')])
            await updater.complete()
        elif mid.startswith('tck-message-response'):
            await event_queue.enqueue_event(updater.new_agent_message([Part(text='Direct message response')]))
        elif mid.startswith('tck-input-required'):
            await updater.requires_input()
        elif mid.startswith('tck-complete-task'):
            await updater.complete(updater.new_agent_message([Part(text='Hello from TCK')]))
        elif mid.startswith('tck-artifact-text'):
            await updater.add_artifact(parts=[Part(text='Generated text content')])
            await updater.complete()
        elif mid.startswith('tck-artifact-file'):
            await updater.add_artifact(parts=[Part(raw=b'tck', media_type='text/plain', filename='output.txt')])
            await updater.complete()
        elif mid.startswith('tck-artifact-data'):
            await updater.add_artifact(parts=[Part(data=json_format.Parse('{"key": "value", "count": 42}', Value()))])
            await updater.complete()
        elif mid.startswith('tck-reject-task'):
            raise A2AError('rejected')
        elif mid.startswith('tck-stream-001'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(text='Stream hello from TCK')])
            await updater.complete()
        elif mid.startswith('tck-stream-002'):
            await updater.complete()
        elif mid.startswith('tck-stream-003'):
            await updater.start_work()
            await updater.add_artifact(parts=[Part(text='Stream task lifecycle')])
            await updater.complete()
        else:
            await updater.complete(updater.new_agent_message([Part(text='Unhandled messageId prefix: ' + mid)]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


class BearerAuth(BaseHTTPMiddleware):
    def __init__(self, app, key: str):
        super().__init__(app)
        self.key = key

    async def dispatch(self, request, call_next):
        if request.method == 'POST' and request.headers.get('authorization') != f'Bearer {self.key}':
            return JSONResponse({'error': 'unauthorized'}, status_code=401,
                                headers={'WWW-Authenticate': 'Bearer'})
        return await call_next(request)


def build_app(host: str, port: int, api_key: str | None, compat03: bool) -> Starlette:
    base = f'http://{host}:{port}'
    card = AgentCard(
        name='Echo Agent',
        description='a2a-sdk 1.3.0 reference echo agent',
        version='1.0.0',
        provider=AgentProvider(organization='ares-ref', url='https://example.com'),
        supported_interfaces=[AgentInterface(url=base + '/', protocol_binding='JSONRPC', protocol_version='1.0')],
        capabilities=AgentCapabilities(streaming=True, push_notifications=True, extended_agent_card=True),
        security_schemes={'bearer': SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme='Bearer', bearer_format='opaque'))},
        security_requirements=[SecurityRequirement(schemes={'bearer': StringList(list=[])})],
        default_input_modes=['text/plain', 'text'],
        default_output_modes=['text/plain', 'text/markdown', 'application/json', 'text'],
        skills=[AgentSkill(id='echo', name='Echo', description='Echoes the input text', tags=['echo'],
                           examples=['hello'], input_modes=['text/plain'], output_modes=['text/plain'])],
    )
    extended = AgentCard()
    extended.CopyFrom(card)
    extended.description = card.description + ' (extended)'
    push_store = InMemoryPushNotificationConfigStore()
    handler = DefaultRequestHandler(
        agent_executor=EchoAgentExecutor(),
        task_store=InMemoryTaskStore(),
        agent_card=card,
        push_config_store=push_store,
        push_sender=BasePushNotificationSender(httpx.AsyncClient(timeout=10), push_store),
        extended_agent_card=extended,
    )
    routes = create_agent_card_routes(card) + create_jsonrpc_routes(handler, rpc_url='/', enable_v0_3_compat=compat03)
    app = Starlette(routes=routes)
    if api_key:
        app.add_middleware(BearerAuth, key=api_key)
    return app


def main() -> None:
    global TCK
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=9999)
    ap.add_argument('--api-key', default=None)
    ap.add_argument('--no-tck', action='store_true')
    ap.add_argument('--no-compat03', action='store_true')
    ap.add_argument('--log-level', default='warning')
    a = ap.parse_args()
    TCK = not a.no_tck
    logging.basicConfig(level=a.log_level.upper())
    app = build_app(a.host, a.port, a.api_key, not a.no_compat03)
    uvicorn.run(app, host=a.host, port=a.port, workers=1, log_level=a.log_level)


if __name__ == '__main__':
    main()

"""One app-server client connection: JSON-RPC in, responses / notifications / server requests out.

Rules (as codex-rs `app-server` behaves toward a client):
- Requests run concurrently, each in its own task, so a long one (`thread/start` builds tools) never stops the
  connection reading; every request gets exactly one answer. Before `initialize`, any other request gets -32600
  "Not initialized"; a second `initialize` gets -32600 "Already initialized".
- An unknown method gets -32601 naming it; bad params -32602 naming the field; a handler that fails
  unexpectedly -32603 with its message. Unparseable input gets -32700 and the connection goes on: a broken
  client never takes the server down.
- Each thread the connection starts or resumes is pumped through its own `ThreadTranslator`; approval
  requests of the session become server requests (`item/commandExecution/requestApproval`,
  `item/fileChange/requestApproval`) whose answers go back as approval ops.
- When the client goes away (end of input), the threads it loaded are closed: a running turn is interrupted,
  the session shuts down and flushes its rollout, so nothing recorded is lost.
"""

from __future__ import annotations

import itertools
import math
import shlex
import sys
from typing import Any, Awaitable, Callable

import attrs
import trio

from codex_actors.app_server import jsonrpc
from codex_actors.app_server.translate import ThreadTranslator, command_actions, now_ms
from codex_actors.protocol import events, ops
from codex_actors.threads import ThreadHandle, ThreadManager

JSON = dict[str, Any]


class Transport:
    """What a connection reads and writes: `receive()` returns one message text or None at end of input;
    `send(text)` writes one message. Implemented by stdio (a line each) and WebSocket (a frame each)."""

    async def receive(self) -> str | None:
        raise NotImplementedError

    async def send(self, text: str) -> None:
        raise NotImplementedError


@attrs.define
class LoadedThread:
    """A thread this connection listens to: the manager's handle, its translator, the pump's cancel scope and
    `active_turn`, the id of the turn started here and not yet completed (set by turn/start, so an interrupt
    right after it finds the turn before its first event arrives)."""

    handle: ThreadHandle
    translator: ThreadTranslator
    active_turn: str | None = None
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)


class Connection:
    """Serve one client on `transport` until it disconnects. `server` is the shared `AppServerState`
    (thread manager, base config, login); `methods` maps a method name to `async handler(conn, params)`."""

    def __init__(self, transport: Transport, server: Any, methods: dict[str, Callable[..., Awaitable[Any]]]) -> None:
        self.transport = transport
        self.server = server
        self.methods = methods
        self.threads: dict[str, LoadedThread] = {}
        self.initialized = False
        self._out_send, self._out_recv = trio.open_memory_channel(math.inf)
        self._pending: dict[jsonrpc.RequestId, trio.MemorySendChannel] = {}
        self._ids = itertools.count()
        self._nursery: trio.Nursery | None = None

    @property
    def manager(self) -> ThreadManager:
        return self.server.manager

    async def serve(self) -> None:
        """Read and answer until end of input; then close this connection's threads and return."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer)
            try:
                while True:
                    text = await self.transport.receive()
                    if text is None:
                        break
                    if text.strip():
                        self._dispatch(jsonrpc.parse(text))
            finally:
                with trio.CancelScope(shield=True):
                    await self._close_threads()
                nursery.cancel_scope.cancel()

    # -- outgoing ---------------------------------------------------------------------------------------

    def send(self, message: JSON) -> None:
        """Queue one outgoing message (never blocks; the writer sends in queue order)."""
        try:
            self._out_send.send_nowait(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def notify(self, method: str, params: JSON) -> None:
        self.send(jsonrpc.notification_message(method, params))

    async def request(self, method: str, params: JSON) -> Any:
        """Send a server-to-client request and wait for its result; raises jsonrpc.RpcError for an error
        answer and trio.EndOfChannel when the client leaves first."""
        request_id = f"server-{next(self._ids)}"
        send, recv = trio.open_memory_channel(1)
        self._pending[request_id] = send
        try:
            self.send(jsonrpc.request_message(request_id, method, params))
            answer: jsonrpc.Response = await recv.receive()
        finally:
            self._pending.pop(request_id, None)
        if answer.error is not None:
            raise jsonrpc.RpcError(int(answer.error.get("code", jsonrpc.INTERNAL_ERROR)),
                                   str(answer.error.get("message", "")))
        return answer.result

    async def _writer(self) -> None:
        async for message in self._out_recv:
            try:
                await self.transport.send(jsonrpc.dumps(message))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return  # the client is gone; the reader sees end of input

    # -- incoming ---------------------------------------------------------------------------------------

    def _dispatch(self, message: jsonrpc.Message) -> None:
        assert self._nursery is not None
        if isinstance(message, jsonrpc.Request):
            self._nursery.start_soon(self._answer, message)
        elif isinstance(message, jsonrpc.Response):
            waiter = self._pending.pop(message.id, None)
            if waiter is not None:
                waiter.send_nowait(message)
        elif isinstance(message, jsonrpc.Malformed):
            self.send(jsonrpc.error_message(message.id, message.error))
        # Notifications from the client (`initialized`) need no answer.

    async def _answer(self, request: jsonrpc.Request) -> None:
        try:
            handler = self.methods.get(request.method)
            if handler is None:
                raise jsonrpc.RpcError(jsonrpc.METHOD_NOT_FOUND, f"Method not found: {request.method}")
            if request.method == "initialize":
                if self.initialized:
                    raise jsonrpc.RpcError(jsonrpc.INVALID_REQUEST, "Already initialized")
            elif not self.initialized:
                raise jsonrpc.RpcError(jsonrpc.INVALID_REQUEST, "Not initialized")
            result = await handler(self, request.params)
            self.send(jsonrpc.result_message(request.id, result))
        except jsonrpc.RpcError as exc:
            self.send(jsonrpc.error_message(request.id, exc))
        except Exception as exc:  # noqa: BLE001 - one failing request must not end the connection
            print(f"codex-actors app-server: {request.method} failed: {exc!r}", file=sys.stderr)
            self.send(jsonrpc.error_message(request.id, jsonrpc.RpcError(jsonrpc.INTERNAL_ERROR, str(exc) or repr(exc))))

    # -- threads ----------------------------------------------------------------------------------------

    def load(self, handle: ThreadHandle) -> LoadedThread:
        """Listen to a started / resumed thread: its events become this connection's notifications."""
        loaded = LoadedThread(handle, ThreadTranslator(handle.thread_id))
        self.threads[handle.thread_id] = loaded
        assert self._nursery is not None
        self._nursery.start_soon(self._pump, loaded)
        return loaded

    def loaded(self, thread_id: str) -> LoadedThread:
        loaded = self.threads.get(thread_id)
        if loaded is None:
            raise jsonrpc.RpcError(jsonrpc.INVALID_REQUEST, f"thread not found: {thread_id}")
        return loaded

    async def unload(self, thread_id: str, *, close: bool = False) -> None:
        """Stop listening to the thread; shut it down when no other connection holds it (or with `close`)."""
        loaded = self.threads.pop(thread_id, None)
        if loaded is None:
            if close:
                await self.manager.close(thread_id)
            return
        loaded.scope.cancel()
        await (self.manager.close(thread_id) if close else self.manager.release(thread_id))

    async def _pump(self, loaded: LoadedThread) -> None:
        with loaded.scope:
            async with loaded.handle.events as stream:
                async for event in stream:
                    msg = event.msg
                    if isinstance(msg, (events.ExecApprovalRequest, events.ApplyPatchApprovalRequest)):
                        assert self._nursery is not None
                        self._nursery.start_soon(self._ask_approval, loaded, msg)
                    for method, params in loaded.translator.feed(msg, event.id):
                        if method == "turn/completed" and params["turn"]["id"] == loaded.active_turn:
                            loaded.active_turn = None
                        elif method == "turn/started" and loaded.active_turn is None:
                            loaded.active_turn = params["turn"]["id"]
                        self.notify(method, params)

    async def _ask_approval(self, loaded: LoadedThread, msg: Any) -> None:
        thread_id = loaded.handle.thread_id
        base = {"threadId": thread_id, "turnId": msg.turn_id, "itemId": msg.call_id, "reason": msg.reason,
                "startedAtMs": now_ms()}
        try:
            if isinstance(msg, events.ExecApprovalRequest):
                params = {**base, "approvalId": msg.approval_id, "command": shlex.join(msg.command), "cwd": msg.cwd,
                          "commandActions": command_actions(msg.parsed_cmd, msg.command),
                          "proposedExecpolicyAmendment": _amendment(msg.proposed_execpolicy_amendment)}
                answer = await self.request("item/commandExecution/requestApproval", params)
                op: ops.Op = ops.ExecApproval(id=msg.approval_id or msg.call_id, decision=exec_decision(answer),
                                              turn_id=msg.turn_id)
            else:
                answer = await self.request("item/fileChange/requestApproval", {**base, "grantRoot": msg.grant_root})
                op = ops.PatchApproval(id=msg.call_id, decision=patch_decision(answer))
        except (jsonrpc.RpcError, trio.EndOfChannel):
            op = (ops.ExecApproval(id=msg.approval_id or msg.call_id, decision="denied", turn_id=msg.turn_id)
                  if isinstance(msg, events.ExecApprovalRequest) else ops.PatchApproval(id=msg.call_id, decision="denied"))
        try:
            await self.manager.submit(thread_id, op)
        except LookupError:
            return  # the thread ended meanwhile
        if isinstance(op, ops.ExecApproval) and op.decision in ("denied", "abort"):
            for method, params in loaded.translator.declined(msg):
                self.notify(method, params)

    async def _close_threads(self) -> None:
        for thread_id in list(self.threads):
            try:
                await self.unload(thread_id)
            except Exception as exc:  # noqa: BLE001 - closing the rest matters more
                print(f"codex-actors app-server: closing thread {thread_id}: {exc!r}", file=sys.stderr)


def exec_decision(answer: Any) -> Any:
    """A v2 CommandExecutionApprovalDecision as the engine's ReviewDecision ("approved", ...). Anything
    unreadable counts as a decline."""
    decision = answer.get("decision") if isinstance(answer, dict) else None
    if isinstance(decision, dict) and isinstance(decision.get("acceptWithExecpolicyAmendment"), dict):
        amendment = decision["acceptWithExecpolicyAmendment"].get("execpolicy_amendment")
        return {"approved_execpolicy_amendment": {"proposed_execpolicy_amendment": {"command": amendment}}}
    return {"accept": "approved", "acceptForSession": "approved_for_session", "decline": "denied",
            "cancel": "abort"}.get(decision if isinstance(decision, str) else "", "denied")


def patch_decision(answer: Any) -> str:
    """A v2 FileChangeApprovalDecision as the engine's ReviewDecision."""
    decision = answer.get("decision") if isinstance(answer, dict) else None
    return {"accept": "approved", "acceptForSession": "approved_for_session", "decline": "denied",
            "cancel": "abort"}.get(decision if isinstance(decision, str) else "", "denied")


def _amendment(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        inner = value.get("command") or value.get("prefix")
        return [str(v) for v in inner] if isinstance(inner, list) else None
    return None

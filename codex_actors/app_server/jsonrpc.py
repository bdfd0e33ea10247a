"""JSON-RPC 2.0 framing for the app-server, sans I/O: classify one incoming message, build outgoing ones.

Codex's app-server speaks JSON-RPC 2.0 with the `"jsonrpc"` member omitted (codex-rs `app-server-protocol`
`JSONRPCMessage`); we accept it when present and never send it. Over stdio one message is one line of JSON.
Error codes: -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params,
-32603 internal error.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

RequestId = str | int


class RpcError(Exception):
    """An error answer: `code` (one of the constants above) and a one-line `message`."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(field: str, problem: str) -> RpcError:
    """-32602 naming the field: `Invalid params: threadId: expected a string`."""
    return RpcError(INVALID_PARAMS, f"Invalid params: {field}: {problem}")


@attrs.frozen
class Request:
    id: RequestId
    method: str
    params: Any


@attrs.frozen
class Notification:
    method: str
    params: Any


@attrs.frozen
class Response:
    """An answer from the client to a request we sent: `result`, or `error` (the error object)."""

    id: RequestId
    result: Any = None
    error: dict[str, Any] | None = None


@attrs.frozen
class Malformed:
    """A message that is not JSON-RPC: `id` when one could be read (the error answer goes to it), `error`."""

    id: RequestId | None
    error: RpcError


Message = Request | Notification | Response | Malformed


def parse(text: str | bytes) -> Message:
    """Classify one message (a line over stdio, a text frame over WebSocket)."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return Malformed(None, RpcError(PARSE_ERROR, f"Parse error: {exc}"))
    if not isinstance(data, dict):
        return Malformed(None, RpcError(INVALID_REQUEST, "Invalid request: expected a JSON object"))
    raw_id = data.get("id")
    msg_id = raw_id if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    if "method" in data:
        method = data["method"]
        if not isinstance(method, str):
            return Malformed(msg_id, RpcError(INVALID_REQUEST, "Invalid request: method must be a string"))
        if "id" in data:
            if msg_id is None:
                return Malformed(None, RpcError(INVALID_REQUEST, "Invalid request: id must be a string or an integer"))
            return Request(msg_id, method, data.get("params"))
        return Notification(method, data.get("params"))
    if msg_id is not None and ("result" in data or "error" in data):
        error = data.get("error")
        return Response(msg_id, data.get("result"), error if isinstance(error, dict) else None)
    return Malformed(msg_id, RpcError(INVALID_REQUEST, "Invalid request: neither a request, a notification nor a response"))


def dumps(message: dict[str, Any]) -> str:
    """One outgoing message as compact JSON (no newline)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def result_message(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"id": request_id, "result": result}


def error_message(request_id: RequestId | None, error: RpcError) -> dict[str, Any]:
    return {"id": request_id, "error": error.to_json()}


def notification_message(method: str, params: Any) -> dict[str, Any]:
    return {"method": method, "params": params}


def request_message(request_id: RequestId, method: str, params: Any) -> dict[str, Any]:
    return {"id": request_id, "method": method, "params": params}

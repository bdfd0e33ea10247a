"""Errors of the MCP client. Messages are meant to be read by a user (startup warnings) or by the model
(a failed tool call's output)."""

from __future__ import annotations


class McpError(Exception):
    """Base class of the MCP client's errors."""


class McpStartupError(McpError):
    """A server could not be started or restarted; the message names it and says why (with the tail of its
    stderr when there is one)."""


class McpCallError(McpError):
    """A tool call did not produce a CallToolResult (timeout, server gone, restart limit reached, protocol
    error). An MCP-level failure is not this: it is a result with `isError: true`."""


def describe(exc: BaseException) -> str:
    """One line for an exception: nested single-exception groups unwrapped, `Type: message` unless the
    exception is one of ours or the SDK's MCPError (whose message already reads well)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(inner) for inner in exc.exceptions)
    text = str(exc).strip()
    if isinstance(exc, McpError) or type(exc).__name__ == "MCPError":
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

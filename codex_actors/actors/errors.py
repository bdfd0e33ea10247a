"""Errors of the actor kernel. Every one carries the name of the actor it is about."""

from __future__ import annotations


class ActorError(Exception):
    """Base class: something went wrong with actor `actor` (its name, a str)."""

    def __init__(self, actor: str, message: str) -> None:
        super().__init__(f"actor {actor!r}: {message}")
        self.actor = actor


class ActorDied(ActorError):
    """The actor is no longer running (stopped or crashed), so it cannot take or answer a message."""


class AskTimeout(ActorError):
    """`ActorRef.ask` got no reply within its timeout (seconds)."""


class ActorCrashed(ActorError):
    """An exception escaped the actor's `handle`; the original is `__cause__` and `.cause`.

    Nested crashes read as one story: "actor 'session': crashed: actor 'cell-3': crashed: ValueError: ...".
    """

    def __init__(self, actor: str, cause: BaseException) -> None:
        super().__init__(actor, f"crashed: {_describe(cause)}")
        self.cause = cause


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ActorError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

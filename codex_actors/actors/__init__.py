"""The actor kernel: the one way actors are written in codex-actors.

Rules (checked in review):
- An actor owns its state. Nothing outside it holds a reference to that state; it is reached only through an
  `ActorRef` over a bounded trio memory channel (`send` = fire and forget, `ask` = request/reply).
- An actor runs as a trio task in a nursery of its owner, started with `ref = await nursery.start(actor.run)`,
  so a returned ref means "initialised and ready".
- `await ref.stop()` returns only after the actor's task has exited; an actor that owns a thread or a process
  releases it in `on_stop` (see `OwnedThread`), so "stopped" means the thread is joined / the process reaped.
- An exception escaping `handle` kills the actor and is raised to its owner as `ActorCrashed` naming the actor,
  which cancels its siblings, unless the owner started it with `supervise=` to receive the failure instead.
"""

from codex_actors.actors.errors import ActorCrashed, ActorDied, ActorError, AskTimeout
from codex_actors.actors.kernel import Actor, ActorRef, start_actor, unwrap_group
from codex_actors.actors.owned_thread import OwnedThread

__all__ = [
    "Actor",
    "ActorCrashed",
    "ActorDied",
    "ActorError",
    "ActorRef",
    "AskTimeout",
    "OwnedThread",
    "start_actor",
    "unwrap_group",
]

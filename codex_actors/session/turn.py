"""One task of the session: a regular turn (spec agent-core 2.1 to 2.4, 2.7) or a manual compaction (2.6).

The runner is created by the session actor per task and runs inside the session's nursery, under a cancel
scope the session cancels on interrupt. It owns nothing the session does not: history, rollout and events go
through the session's `record` / `emit`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import attrs
import trio

from codex_actors.tools.approvals.policy import approval_policy_json
from codex_actors.actors import unwrap_group
from codex_actors.model import events as model_events
from codex_actors.model.prompt import Prompt
from codex_actors.protocol import events, items, ops
from codex_actors.session import compaction
from codex_actors.session.context import initial_context
from codex_actors.session.turn_context import context_key, context_update_items
from codex_actors.session.turn_diff import TurnDiffTracker
from codex_actors.tools.router import ToolCall, ToolContext, output_item
from codex_actors.tools.view_image import image_data_url

if TYPE_CHECKING:
    from codex_actors.session.session import Session

TURN_ABORTED_MARKER = (
    "<turn_aborted>\nThe user interrupted the previous turn. Do not continue it unless asked; processes it "
    "started in the background may still be running.\n</turn_aborted>"
)
COMPACTION_WARNING = (
    "Heads up: Long conversations and multiple compactions can cause the model to be less accurate. Start a new "
    "conversation when possible to keep conversations small and targeted."
)


class TurnFailed(Exception):
    """Ends the turn with an `error` event carrying this message (and `codex_error_info`)."""

    def __init__(self, message: str, codex_error_info: str = "other") -> None:
        super().__init__(message)
        self.message = message
        self.codex_error_info = codex_error_info


async def user_message_item(inputs: list[ops.UserInput]) -> items.Message:
    """One user message from input items (spec 1.2): text -> input_text; each image -> open tag, the image,
    close tag. Local images are read, fitted and inlined as data URLs now, in a worker thread (decoding a large
    image takes tens of ms); an unreadable one becomes a text note."""
    parts: list[items.ContentItem] = []
    local_index = 0
    for entry in inputs:
        if isinstance(entry, ops.TextInput):
            parts.append(items.InputText(entry.text))
        elif isinstance(entry, ops.ImageInput):
            parts += [items.InputText("<image>"), items.InputImage(entry.image_url, detail="high"),
                      items.InputText("</image>")]
        elif isinstance(entry, ops.LocalImageInput):
            local_index += 1
            try:
                url = await trio.to_thread.run_sync(image_data_url, entry.path)
            except Exception as exc:  # noqa: BLE001 - the model is told, the turn goes on
                parts.append(items.InputText(f"[image {entry.path} could not be attached: {exc}]"))
                continue
            parts += [items.InputText(f"<image name=[Image #{local_index}]>"),
                      items.InputImage(url, detail="high"), items.InputText("</image>")]
    return items.Message(role="user", content=parts)


def _user_message_event(inputs: list[ops.UserInput]) -> events.UserMessage:
    text = "\n".join(i.text for i in inputs if isinstance(i, ops.TextInput))
    images = [i.image_url for i in inputs if isinstance(i, ops.ImageInput)] or None
    local = [i.path for i in inputs if isinstance(i, ops.LocalImageInput)]
    return events.UserMessage(message=text, images=images, local_images=local)


@attrs.define
class _Slot:
    """One in-flight tool call: its call, when it started (monotonic s), and its output item once done."""

    call: ToolCall
    started: float
    output: items.ResponseItem | None = None


USER_INPUT_OPS = (ops.UserTurn, ops.UserInputOp, ops.UserInputWithTurnContext)
"""The ops that start a user turn, or steer the one running."""


class TurnRunner:
    """Runs one task. `steer(item)` queues input for the next sampling request while `accepts_steering` (a user
    turn that has not yet decided to end); `abort_reason` is set by the session before it cancels the runner,
    and `finish_aborted` then writes the aborted outputs and marker."""

    def __init__(self, session: "Session", turn_id: str, op: Any) -> None:
        self.session = session
        self.turn_id = turn_id
        self.op = op
        self.user_turn = isinstance(op, USER_INPUT_OPS)
        self.accepts_steering = self.user_turn
        self.pending: list[items.ResponseItem] = []
        self.abort_reason: str | None = None
        self.started = time.monotonic()
        self.slots: list[_Slot] = []
        self.tool_calls = 0
        self.reasoning_items = 0
        self.last_agent_message: str | None = None
        self.input_messages: list[str] = []
        self.total_usage = model_events.TokenUsage()
        self.diffs = TurnDiffTracker(session.settings.cwd)
        self.files_changed = False

    # -- entry points -----------------------------------------------------------------------------------

    def steer(self, item: items.Message) -> None:
        self.pending.append(item)
        self.input_messages.append(item.text())

    def inject(self, item: items.ResponseItem) -> None:
        """Queue a non-user item (a code-mode notification) for the next sampling request."""
        self.pending.append(item)

    async def emit(self, msg: events.EventMsg | dict[str, Any]) -> None:
        """Send an event of this turn; the tools' own events come through here too, so patches are tracked for
        `turn_diff`: a patch's files are read at `patch_apply_begin`, before it writes them."""
        if isinstance(msg, dict):
            msg = events.EVENT_MSGS.structure(msg)
        if isinstance(msg, events.PatchApplyBegin):
            await trio.to_thread.run_sync(self.diffs.record_baselines, msg.changes)
        elif isinstance(msg, events.PatchApplyEnd) and msg.success:
            self.files_changed = True
        await self.session.emit(self.turn_id, msg)

    async def _emit_turn_diff(self) -> None:
        """After a response whose tools changed files: the aggregate diff of the turn so far (spec 1.3)."""
        if not self.files_changed:
            return
        self.files_changed = False
        diff = await trio.to_thread.run_sync(self.diffs.unified_diff)
        if diff:
            await self.emit(events.TurnDiff(unified_diff=diff))

    async def run(self) -> None:
        await self.emit(events.TaskStarted(turn_id=self.turn_id, started_at=int(time.time()),
                                           model_context_window=self.session.settings.context_window))
        if isinstance(self.op, ops.Compact):
            try:
                await self.compact(mid_turn=False)
            except TurnFailed as exc:
                await self.emit(events.Error(message=exc.message, codex_error_info=exc.codex_error_info))
            await self._complete()
            return
        inputs = self.op.items
        user_item = await user_message_item(inputs)
        settings = self.session.settings
        oversized = compaction.oversized_input(user_item, settings.context_window, settings.auto_compact_limit)
        if oversized is not None:
            # Refused before anything is recorded: the rollout and history never show it as sent.
            await self.emit(events.Error(message=oversized, codex_error_info="context_window_exceeded"))
            await self._complete()
            return
        await self._record_context()
        self.input_messages.append(user_item.text())
        await self.session.record(user_item)
        await self.emit(_user_message_event(inputs))
        try:
            if self._over_compact_limit():
                await self.compact(mid_turn=False)
                await self._record_context()
            first = True
            while True:
                if not first and self.pending:
                    for item in self.pending:
                        await self.session.record(item)
                    self.pending.clear()
                first = False
                follow_up = await self.sample()
                await self._emit_turn_diff()
                if self.pending:
                    follow_up = True
                if not follow_up:
                    # No await since the check above: input arriving from here on starts the next turn.
                    self.accepts_steering = False
                    break
                if self._over_compact_limit():
                    await self.compact(mid_turn=True)
        except (TurnFailed, model_events.ModelError) as exc:
            self.accepts_steering = False
            await self._keep_pending()
            await self.emit(events.Error(message=exc.message, codex_error_info=exc.codex_error_info))
        self.accepts_steering = False
        await self._complete()

    async def _keep_pending(self) -> None:
        """A failed turn never sends what was steered into it (or injected) after its last request: record it,
        so the next turn's request carries it instead of the input vanishing after it was answered "steered"."""
        for item in self.pending:
            await self.session.record(item)
        self.pending.clear()

    async def _complete(self) -> None:
        if self.session.recorder is not None:
            await self.session.recorder.flush()
        duration_ms = int((time.monotonic() - self.started) * 1000)
        await self.emit(events.TaskComplete(turn_id=self.turn_id, last_agent_message=self.last_agent_message,
                                            completed_at=int(time.time()), duration_ms=duration_ms))
        if self.session.on_turn_complete is not None:
            await self.session.on_turn_complete({
                "type": "agent-turn-complete",
                "thread-id": self.session.session_id,
                "turn-id": self.turn_id,
                "cwd": self.session.settings.cwd,
                "input-messages": self.input_messages,
                "last-assistant-message": self.last_agent_message,
            })

    async def finish_aborted(self, reason: str) -> None:
        """After cancellation: give every call an output, add the marker, flush, emit `turn_aborted`."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.output is None:
                text = f"aborted by user after {now - slot.started:.1f}s"
                slot.output = output_item(slot.call, text)
            if slot.output not in self.session.history.items:
                await self.session.record(slot.output)
        if reason == "interrupted":
            marker = items.Message(role="user", content=[items.InputText(TURN_ABORTED_MARKER)])
            await self.session.record(marker)
        if self.session.recorder is not None:
            await self.session.recorder.flush()
        duration_ms = int((now - self.started) * 1000)
        await self.emit(events.TurnAborted(reason=reason, turn_id=self.turn_id, duration_ms=duration_ms))

    # -- context ----------------------------------------------------------------------------------------

    async def _record_context(self) -> None:
        settings = self.session.settings
        key = context_key(settings)
        if not self.session.context_recorded:
            for item in self._initial_context():
                await self.session.record(item)
            self.session.context_recorded = True
        elif self.session.context_baseline is not None:
            # A user_turn / override_turn_context changed the cwd or a policy: tell the model what changed.
            for item in context_update_items(self.session.context_baseline, settings):
                await self.session.record(item)
        self.session.context_baseline = key
        if self.session.recorder is not None:
            await self.session.recorder.record_turn_context({
                "turn_id": self.turn_id,
                "cwd": settings.cwd,
                "approval_policy": approval_policy_json(settings.approval_policy),
                "sandbox_policy": settings.sandbox_policy,
                "model": settings.model,
                "summary": (settings.reasoning or {}).get("summary", "auto"),
                "truncation_policy": {"mode": "tokens", "limit": 10000},
            })

    def _initial_context(self) -> list[items.ResponseItem]:
        settings = self.session.settings
        return initial_context(cwd=settings.cwd, sandbox_policy=settings.sandbox_policy,
                               approval_policy=settings.approval_policy,
                               developer_instructions=settings.developer_instructions,
                               user_instructions=settings.user_instructions)

    def _over_compact_limit(self) -> bool:
        settings = self.session.settings
        limit = compaction.auto_compact_limit(settings.context_window, settings.auto_compact_limit)
        return self.session.history.estimated_tokens() >= limit

    # -- sampling ---------------------------------------------------------------------------------------

    def _prompt(self, input_items: list[items.ResponseItem], *, with_tools: bool = True) -> Prompt:
        settings = self.session.settings
        router = self.session.router
        return Prompt(
            input=input_items,
            instructions=settings.instructions,
            tools=router.specs((settings.sandbox_policy or {}).get("type")) if (with_tools and router is not None)
            else [],
            parallel_tool_calls=settings.parallel_tool_calls,
            reasoning=settings.reasoning,
            output_schema=(getattr(self.op, "final_output_json_schema", None) or settings.output_schema)
            if with_tools else None,
            prompt_cache_key=self.session.session_id,
            verbosity=settings.verbosity,
        )

    async def sample(self) -> bool:
        """One sampling request: stream the response, start each tool call as its item completes, then append
        the outputs in call order. Returns whether the model asked for a follow-up (made tool calls)."""
        prompt = self._prompt(self.session.history.for_prompt())
        follow_up = False
        slots: list[_Slot] = []
        # Retries are announced by the client itself (stream_error through the session's notify hook); an
        # AttemptDiscarded only voids deltas already shown, and final items arrive once, so nothing to undo.
        try:
            async with trio.open_nursery() as nursery, self.session.client.stream(prompt) as stream:
                async for event in stream:
                    if isinstance(event, model_events.OutputTextDelta):
                        await self.emit(events.AgentMessageDelta(delta=event.delta))
                    elif isinstance(event, model_events.ReasoningSummaryDelta):
                        await self.emit(events.AgentReasoningDelta(delta=event.delta))
                    elif isinstance(event, model_events.OutputItemDone):
                        if await self._on_item_done(event.item, nursery, slots):
                            follow_up = True
                    elif isinstance(event, model_events.Completed):
                        await self._on_completed(event)
        except BaseExceptionGroup as group:
            # A model failure or the turn budget, raised inside the tool nursery: surface it unwrapped.
            leaf = unwrap_group(group)
            if isinstance(leaf, (model_events.ModelError, TurnFailed)):
                raise leaf from None
            raise
        for slot in slots:
            assert slot.output is not None
            await self.session.record(slot.output)
        return follow_up

    async def _on_item_done(self, item: Any, nursery: trio.Nursery, slots: list[_Slot]) -> bool:
        if isinstance(item, (items.FunctionCall, items.CustomToolCall)):
            self.tool_calls += 1
            limit = self.session.settings.max_tool_calls_per_turn
            if self.tool_calls > limit:
                raise TurnFailed(
                    f"turn stopped: the model made more than {limit} tool calls in one turn "
                    "(max_tool_calls_per_turn)"
                )
            await self.session.record(item)
            slot = _Slot(ToolCall.from_item(item), time.monotonic())
            slots.append(slot)
            self.slots.append(slot)
            nursery.start_soon(self._run_tool, slot)
            return True
        if isinstance(item, items.Message) and item.role == "assistant":
            await self.session.record(item)
            text = item.text()
            self.last_agent_message = text
            await self.emit(events.AgentMessage(message=text, phase=item.phase))
        elif isinstance(item, items.Reasoning):
            await self.session.record(item)
            summary = [part["text"] for part in item.summary if part.get("text")]
            for text in summary:
                await self.emit(events.AgentReasoning(text=text))
            self.reasoning_items += 1  # ids are dropped from stored items (spec 1.4): number them per turn
            await self.emit(events.ItemCompleted(turn_id=self.turn_id, item={
                "type": "Reasoning", "id": f"{self.turn_id}-reasoning-{self.reasoning_items}", "summary_text": summary,
                "raw_content": [str(p.get("text") or "") for p in item.content or () if p.get("text")]}))
        elif isinstance(item, model_events.OtherItem) and item.type == "web_search_call":
            # Shown, not kept in history: the search ran on the server, and its findings are in the answer.
            for event in web_search_events(item.raw):
                await self.emit(event)
        return False

    async def _run_tool(self, slot: _Slot) -> None:
        router = self.session.router
        assert router is not None
        ctx = ToolContext(turn_id=self.turn_id, cwd=self.session.settings.cwd, emit=self.emit,
                          services=self.session.services)
        try:
            slot.output = await router.dispatch(slot.call, ctx)
        except Exception as exc:  # noqa: BLE001 - a broken handler fails its call, not the session
            slot.output = output_item(slot.call, f"{slot.call.name} failed: {type(exc).__name__}: {exc}")

    async def _on_completed(self, event: model_events.Completed) -> None:
        usage = event.token_usage
        if usage is None:
            return
        self.session.history.record_usage(usage.total_tokens)
        total = self.session.token_totals = _add_usage(self.session.token_totals, usage)
        await self.emit(events.TokenCount(info={
            "total_token_usage": total.to_json(),
            "last_token_usage": usage.to_json(),
            "model_context_window": self.session.settings.context_window,
        }))

    # -- compaction -------------------------------------------------------------------------------------

    async def compact(self, *, mid_turn: bool) -> None:
        """Summarise history with the model and replace it (spec 2.6 method A)."""
        history = self.session.history.for_prompt()
        request = compaction.compaction_request_input(history)
        summary = ""
        while True:
            try:
                summary = await self._collect_text(self._prompt(request, with_tools=False))
                break
            except model_events.ModelError as exc:
                # The summarisation request itself overflowed: drop the oldest item and retry.
                if exc.codex_error_info == "context_window_exceeded" and len(request) > 2:
                    request = request[1:]
                    continue
                raise TurnFailed(f"compaction failed: {exc.message}", exc.codex_error_info) from exc
        replacement = compaction.compacted_history(history, summary)
        shortened = compaction.shortened_message_note(history, replacement)
        if mid_turn:
            context = self._initial_context()
            last_user = max((i for i, it in enumerate(replacement[:-1])
                             if compaction.is_real_user_message(it)), default=0)
            replacement = replacement[:last_user] + context + replacement[last_user:]
            self.session.context_baseline = context_key(self.session.settings)
        else:
            self.session.context_recorded = False
        self.session.history.replace(replacement)
        recorder = self.session.recorder
        if recorder is not None and hasattr(recorder, "record_compacted"):
            await recorder.record_compacted(summary, replacement)
        await self.emit(events.ContextCompacted())
        if shortened is not None:
            await self.emit(events.Warning(message=shortened))
        await self.emit(events.Warning(message=COMPACTION_WARNING))

    async def _collect_text(self, prompt: Prompt) -> str:
        text = ""
        async with self.session.client.stream(prompt) as stream:
            async for event in stream:
                if isinstance(event, model_events.OutputItemDone) and isinstance(event.item, items.Message):
                    text = event.item.text() or text
                elif isinstance(event, model_events.Completed) and event.token_usage is not None:
                    self.session.token_totals = _add_usage(self.session.token_totals, event.token_usage)
        return text


def web_search_events(raw: dict[str, Any]) -> list[events.EventMsg]:
    """`web_search_begin` + `web_search_end` for one `web_search_call` output item (spec agent-core 4.9):
    `{"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search",
    "query": "..."}}`. The query is the action's `query`, else its first `queries` entry, else ""."""
    call_id = str(raw.get("id") or "")
    action = raw.get("action") if isinstance(raw.get("action"), dict) else {"type": "other"}
    queries = action.get("queries") or []
    query = action.get("query") or (queries[0] if queries else "") or ""
    return [events.WebSearchBegin(call_id=call_id),
            events.WebSearchEnd(call_id=call_id, query=str(query), action=dict(action))]


def _add_usage(total: model_events.TokenUsage | None, usage: model_events.TokenUsage) -> model_events.TokenUsage:
    if total is None:
        return usage
    return model_events.TokenUsage(
        input_tokens=total.input_tokens + usage.input_tokens,
        cached_input_tokens=total.cached_input_tokens + usage.cached_input_tokens,
        output_tokens=total.output_tokens + usage.output_tokens,
        reasoning_output_tokens=total.reasoning_output_tokens + usage.reasoning_output_tokens,
        total_tokens=total.total_tokens + usage.total_tokens,
        cache_write_input_tokens=total.cache_write_input_tokens + usage.cache_write_input_tokens,
    )

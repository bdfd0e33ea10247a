"""`update_plan`: the model's to-do list (spec agent-core 4.6), shown to the user as a `plan_update` event."""

from __future__ import annotations

from typing import Any

from codex_actors.protocol import events
from codex_actors.tools.router import ToolCall, ToolContext, ToolError, ToolResult

STATUSES = ("pending", "in_progress", "completed")


class UpdatePlanTool:
    """Replaces the plan: `{"explanation"?: str, "plan": [{"step": str, "status": pending|in_progress|completed}]}`.

    At most one step may be in_progress; unknown fields are rejected. Answers "Plan updated"."""

    name = "update_plan"
    kind = "function"
    parallel = False

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "name": self.name,
            "description": (
                "Updates the task plan.\nProvide an optional explanation and a list of plan items, each with a "
                "step and status.\nAt most one step can be in_progress at a time."
            ),
            "strict": False,
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "required": ["plan"],
                "properties": {
                    "explanation": {"type": "string"},
                    "plan": {
                        "type": "array",
                        "description": "The list of steps",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["step", "status"],
                            "properties": {
                                "step": {"type": "string"},
                                "status": {"type": "string", "description": "One of: pending, in_progress, completed"},
                            },
                        },
                    },
                },
            },
        }

    async def handle(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        args = call.arguments()
        unknown = set(args) - {"explanation", "plan"}
        if unknown:
            raise ToolError(f"failed to parse function arguments: unknown field `{sorted(unknown)[0]}`")
        plan = args.get("plan")
        explanation = args.get("explanation")
        if not isinstance(plan, list):
            raise ToolError("failed to parse function arguments: missing field `plan`")
        if explanation is not None and not isinstance(explanation, str):
            raise ToolError("failed to parse function arguments: `explanation` must be a string")
        steps = []
        for entry in plan:
            if not isinstance(entry, dict) or set(entry) != {"step", "status"} or not isinstance(entry["step"], str):
                raise ToolError("failed to parse function arguments: each plan item needs exactly `step` and `status`")
            if entry["status"] not in STATUSES:
                raise ToolError(f"failed to parse function arguments: unknown status `{entry['status']}`, "
                                f"expected one of {', '.join(STATUSES)}")
            steps.append({"step": entry["step"], "status": entry["status"]})
        if sum(step["status"] == "in_progress" for step in steps) > 1:
            raise ToolError("at most one step can be in_progress at a time")
        await ctx.emit(events.PlanUpdate(plan=steps, explanation=explanation))
        return ToolResult("Plan updated", code_mode_value={})

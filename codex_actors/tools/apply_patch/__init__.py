"""The `apply_patch` tool (agent-core spec 4.5): a pure parser (`parser`), fuzzy line search (`seek`), dry-run
and application (`apply`), recognition of patches sent as shell commands (`shell_intercept`), the two tool specs
(`spec`) and the async tool-call entry point with its events (`handler`)."""

from .apply import PatchApplyError, PatchPlan, apply_plan, plan_patch
from .handler import apply_patch_call, verify_patch
from .parser import ParsedPatch, PatchParseError, parse_patch
from .shell_intercept import ApplyPatchInvocation, ImplicitInvocationError, intercept_argv, intercept_script
from .spec import APPLY_PATCH_LARK_GRAMMAR, freeform_tool_spec, json_tool_spec

__all__ = [
    "APPLY_PATCH_LARK_GRAMMAR",
    "ApplyPatchInvocation",
    "ImplicitInvocationError",
    "ParsedPatch",
    "PatchApplyError",
    "PatchParseError",
    "PatchPlan",
    "apply_patch_call",
    "apply_plan",
    "freeform_tool_spec",
    "intercept_argv",
    "intercept_script",
    "json_tool_spec",
    "parse_patch",
    "plan_patch",
    "verify_patch",
]

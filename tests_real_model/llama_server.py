"""llama-cpp-python's OpenAI-compatible server, as `python -m llama_cpp.server` runs it, with one chat format added:
`chatml-function-calling-capped`, the server's own `chatml-function-calling` with the request's `max_tokens`
honoured in every generation it makes.

Why: in llama-cpp-python 0.3.36, `chatml_function_calling` hard-codes `max_tokens=None` for the arguments of a tool
call the model chose itself (`tool_choice: "auto"`, the only choice a Codex client sends). A 135M model then often
never closes a JSON string and generates until the 8k-token context is full: 4-5 minutes on 2 cores, measured here
in 2 of 6 runs, which made the tier time out at random. With the cap, a runaway call ends after `max_tokens`
tokens (its arguments then are cut-off JSON, which the session answers with a parse error, as it would any
server's). Nothing else of the server changes. Usage: `python tests_real_model/llama_server.py --config_file F`.
"""

from __future__ import annotations

import sys
from typing import Any

import llama_cpp
from llama_cpp import llama_chat_format
from llama_cpp.server.__main__ import main

CAPPED_FORMAT = "chatml-function-calling-capped"
# Written for this version's handler signature; another version may have fixed the cap or changed the handler.
WRITTEN_FOR = "0.3.36"


class _CappedLlama:
    """A `Llama` whose `create_completion` fills a missing `max_tokens` with `cap` (everything else delegated)."""

    def __init__(self, llama: Any, cap: int | None) -> None:
        self._llama = llama
        self._cap = cap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("max_tokens") is None:
            kwargs["max_tokens"] = self._cap
        return self._llama.create_completion(*args, **kwargs)


def chatml_function_calling_capped(llama: Any, *args: Any, max_tokens: int | None = None, **kwargs: Any) -> Any:
    """`chatml_function_calling` with the request's `max_tokens` as the cap of each completion it runs."""
    return llama_chat_format.chatml_function_calling(_CappedLlama(llama, max_tokens), *args, max_tokens=max_tokens,
                                                     **kwargs)


def register() -> None:
    """Add CAPPED_FORMAT to the server's chat formats. Raises SystemExit on a llama-cpp-python it was not written for."""
    if llama_cpp.__version__ != WRITTEN_FOR:
        raise SystemExit(f"tests_real_model/llama_server.py was written for llama-cpp-python {WRITTEN_FOR}, "
                         f"found {llama_cpp.__version__}: check whether the max_tokens cap is still needed")
    registry = llama_chat_format.LlamaChatCompletionHandlerRegistry()
    registry.register_chat_completion_handler(CAPPED_FORMAT, chatml_function_calling_capped, overwrite=True)


if __name__ == "__main__":
    register()
    sys.argv[0] = "llama_cpp.server"
    main()

"""Agent messages as terminal markdown: rich's `Markdown` with the layout of Codex's TUI.

rich renders headings centred and padded, code blocks on a theme background with a one-cell margin, and ordered
list items as `1 first`; Codex shows headings left-aligned in bold, code blocks flush, highlighted, on the
terminal's own background, and `1. first`. The element classes below replace rich's `heading_open` / `fence` /
`code_block` / `list_item_open` renderers through
`Markdown.elements`, a class attribute rich documents only in its source: `markdown()` uses them when the
installed rich has the shape they were written against (checked once, `_elements_fit`), and rich's own
`Markdown` otherwise, so a rich upgrade changes the looks, never breaks the output.

`tail(renderable, n)` keeps the last n rendered lines, for the live view of a message still streaming.
"""

from __future__ import annotations

import functools
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Heading, ListItem, Markdown
from rich.segment import Segment
from rich.syntax import Syntax

CODE_THEME = "ansi_dark"  # ANSI colours: follows the terminal's own palette
PATCHED_ELEMENTS = ("heading_open", "fence", "code_block", "list_item_open")


class _LeftHeading(Heading):
    """A heading as one bold left-aligned line, no padding to the terminal width."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text.copy()
        text.justify = "default"
        yield text


class _FlushCodeBlock(CodeBlock):
    """A fenced or indented code block, syntax-highlighted, without background or margin."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme, word_wrap=True, padding=0,
                     background_color="default")


class _DottedListItem(ListItem):
    """An ordered list item numbered `1.` (rich writes `1`), its wrapped lines indented under the text."""

    def render_number(self, console: Console, options: ConsoleOptions, number: int,
                      last_number: int) -> RenderResult:
        width = len(str(last_number)) + 3  # a space, the digits, the dot, a space
        lines = console.render_lines(self.elements, options.update(width=options.max_width - width),
                                     style=self.style)
        style = console.get_style("markdown.item.number", default="none")
        numeral = Segment(f"{number}.".rjust(width - 1) + " ", style)
        padding = Segment(" " * width, style)
        for index, line in enumerate(lines):
            yield numeral if index == 0 else padding
            yield from line
            yield Segment.line()


class _CodexMarkdown(Markdown):
    elements = {**Markdown.elements, "heading_open": _LeftHeading, "fence": _FlushCodeBlock,
                "code_block": _FlushCodeBlock, "list_item_open": _DottedListItem}


@functools.cache
def _elements_fit() -> bool:
    """Whether this rich still maps the patched tokens to the classes the replacements extend."""
    elements = getattr(Markdown, "elements", None)
    if not isinstance(elements, dict):
        return False
    expected = {"heading_open": Heading, "fence": CodeBlock, "code_block": CodeBlock, "list_item_open": ListItem}
    return all(elements.get(token) is cls for token, cls in expected.items())


def markdown(text: str) -> Markdown:
    """`text` (CommonMark + tables + strikethrough) as a renderable: paragraphs not padded to the width."""
    cls = _CodexMarkdown if _elements_fit() else Markdown
    return cls(text, code_theme=CODE_THEME, justify="default", hyperlinks=False)


class tail:  # noqa: N801 - used like a function: tail(renderable, lines)
    """The last `lines` lines of `renderable` as rendered at the console's width (all of it when shorter)."""

    def __init__(self, renderable: RenderableType, lines: int) -> None:
        self.renderable = renderable
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rendered: list[list[Segment]] = console.render_lines(self.renderable, options, pad=False)
        while rendered and not "".join(s.text for s in rendered[-1]).strip():
            rendered.pop()  # trailing blank lines of the last block
        for line in rendered[-self.lines:]:
            yield from line
            yield Segment.line()


def render_plain(console: Console, renderable: Any) -> str:
    """`renderable` rendered by `console` to a string without writing it anywhere (ANSI codes included when the
    console has colour)."""
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()

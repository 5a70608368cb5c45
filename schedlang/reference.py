"""The reference pages shipped inside the package (docs/*.md, through the `schedlang/docs`
link), for readers that are not people at a checkout: the model's system prompt and the
MCP server's resources. One reader, so an installed wheel and a checkout serve the same text.
"""

from __future__ import annotations

from importlib import resources


class MissingReference(LookupError):
    """The page is not in this installation."""


def pages() -> list[str]:
    """The shipped pages' names, without `.md`, sorted."""
    folder = resources.files("schedlang").joinpath("docs")
    return sorted(p.name.removesuffix(".md") for p in folder.iterdir() if p.name.endswith(".md"))


def page(name: str) -> str:
    """The text of docs/NAME.md; MissingReference names the pages that exist."""
    try:
        return resources.files("schedlang").joinpath("docs", f"{name}.md").read_text("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise MissingReference(
            f"no reference page {name!r} in this installation; pages: {', '.join(pages())}"
        ) from None

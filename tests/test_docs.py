"""The documentation keeps up with the code: every command and option is documented, links resolve.

Walks the click command tree (as sqlite-utils' test_docs does): each command has help text and a
section in docs/commands.md, and each of its options is named in the docs pages that describe
options. Every relative link in the README and docs/ points to a file that exists.
"""

from __future__ import annotations

import re

import click
import pytest

from cnncalc.cli import main

from .conftest import ROOT

DOCS = ROOT / "docs"
# the pages where options are described (limits flags live with the limits they raise)
OPTION_PAGES = ("commands.md", "limits.md")
COMMANDS = sorted(main.commands)  # type: ignore[attr-defined]


def _options(command: click.Command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            longest = max(param.opts, key=len)
            if longest not in ("--help", "--version"):
                names.append(longest)
    return names


def test_the_cli_has_commands() -> None:
    assert {"shape", "params", "cost", "bottleneck", "derive", "zoo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_a_section(name: str) -> None:
    """A command without help text or without its section in docs/commands.md fails."""
    command = main.commands[name]  # type: ignore[attr-defined]
    assert command.help and command.help.strip(), name
    assert re.search(rf"^## `cnncalc {name}`", (DOCS / "commands.md").read_text(), re.MULTILINE), name


@pytest.mark.parametrize(
    ("name", "option"),
    [(name, option) for name in COMMANDS for option in _options(main.commands[name])],  # type: ignore[attr-defined]
)
def test_every_option_is_documented(name: str, option: str) -> None:
    """Each option of each command appears, as written on the command line, in the docs."""
    text = "\n".join((DOCS / page).read_text() for page in OPTION_PAGES)
    assert re.search(rf"[`/]{re.escape(option)}(?![\w-])", text), f"cnncalc {name} {option} is not documented"


def _links() -> list[tuple[str, str]]:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    found = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+:", target):
                found.append((str(page.relative_to(ROOT)), target))
    return found


@pytest.mark.parametrize(("page", "target"), _links())
def test_relative_links_resolve(page: str, target: str) -> None:
    assert ((ROOT / page).parent / target).exists(), f"{page} links to a missing {target}"


def test_the_readme_opens_with_the_two_commands() -> None:
    """The first code block: one command installs and solves the seed, one installs and tests."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    lines = block.group(1).strip().splitlines()
    assert len(lines) == 2
    assert "cnncalc bottleneck configs/resnet_block_bottleneck.yaml" in lines[0]
    assert "-c constraints.txt '.[test]'" in lines[1] and lines[1].endswith("python -m pytest")


def _grammar_examples() -> list[str]:
    text = (DOCS / "grammar.md").read_text()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if re.search(r"^input:", block, re.MULTILINE)]


@pytest.mark.parametrize("example", _grammar_examples(), ids=lambda block: block.split("\n", 1)[0])
def test_grammar_examples_run(example: str, tmp_path: pytest.TempPathFactory) -> None:
    """Every whole spec shown in docs/grammar.md evaluates (exit 0)."""
    from click.testing import CliRunner

    path = tmp_path / "example.yaml"  # type: ignore[operator]
    path.write_text(example)
    for command in ("shape", "params"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 0, result.output


def test_grammar_page_is_linked() -> None:
    assert "(grammar.md)" in (DOCS / "spec.md").read_text()
    assert "(docs/grammar.md)" in (ROOT / "README.md").read_text()

"""Subcommands imported when they are run, so `apiary --help` never imports the whole tree.

A command group lists its subcommands from a static table (name, where the command lives,
its one-line help) and imports a subcommand's module only when that subcommand is
resolved: `apiary report summary --help` imports the reporter's command layer, not the
run pipeline, the registry loader or pydantic's models.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import TyperInfo


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand found at `module`.`attr`: a typer app (a group) or a command function.

    A command function's context settings, if any, are the module's `context_settings_attr`.
    """

    module: str
    attr: str
    help: str
    context_settings_attr: str | None = None

    def load(self, name: str) -> Any:
        """The click command (group) for this entry, importing its module now."""
        module = importlib.import_module(self.module)
        found = getattr(module, self.attr)
        if isinstance(found, typer.Typer):
            return typer.main.get_group_from_info(
                TyperInfo(found, cls=QuietHelpGroup),
                pretty_exceptions_short=found.pretty_exceptions_short,
                suggest_commands=found.suggest_commands,
                rich_markup_mode=found.rich_markup_mode,
            )
        attr = self.context_settings_attr
        settings = getattr(module, attr) if attr else None
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(name, context_settings=settings)(found)
        return typer.main.get_command(single)


class QuietHelpGroup(TyperGroup):
    """A typer group whose `--help` flag, when not given, is False rather than None.

    typer reads a None flag through a pydantic adapter, and so imports pydantic, on the way
    to every subcommand: `apiary report summary --help` would pay for it twice over.
    """

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


class LazyGroup(QuietHelpGroup):
    """A typer group whose subcommands in `lazy` are imported on first use."""

    lazy: Mapping[str, LazyCommand] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.lazy, *(n for n in super().list_commands(ctx) if n not in self.lazy)]

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in self.lazy:
            # An unknown name is an error whose "did you mean" needs every command known:
            # only this path imports them all.
            for name in self.lazy:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in self.lazy:
            found = self.lazy[cmd_name].load(cmd_name)
            self.commands[cmd_name] = found
        return found

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The commands' table, the lazy ones described by their static help (not imported)."""
        rows: list[tuple[str, Any]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                command = TyperCommand(name=name, short_help=self.lazy[name].help)
            if not command.hidden:
                rows.append((name, command))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

"""The click group every command registers on (`app`), and the click side of the entry point."""

from __future__ import annotations

from importlib import import_module

import click

__all__ = ["app", "click_main"]

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: command → the module that defines it. Modules are imported only when their command runs (or for
#: --help), so `tokenprism tokenize` pays for nothing it does not use.
COMMANDS = {
    "tokenize": "tokens", "decode": "tokens", "count": "tokens", "info": "tokens",
    "compare": "compare", "corpus": "corpus", "train-tokenizer": "train",
    "explain": "model", "generate": "model", "score": "model",
    "lens": "inside", "attention": "inside", "attribute": "inside",
    "infill": "infill", "fim-transform": "fim_data",
    "embed": "embed", "similar": "embed", "neighbors": "embed",
    "serve": "serve",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            import_module(f"{__package__}.{COMMANDS[name]}")  # registers its commands on `app`
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="tokenprism")
@click.pass_context
def app(ctx: click.Context, debug: bool) -> None:
    """See how a language model sees text: TEXT → TOKENS → IDS → MODEL → IDS → TOKENS → TEXT.

    \b
    Shell completion (bash):  eval "$(_TOKENPRISM_COMPLETE=bash_source tokenprism)"
    """
    ctx.obj = {"debug": debug}


def click_main(args: list[str]) -> int:
    """Run `args` through click: its own usage errors are one line and exit code 2 as well."""
    try:
        code = app.main(args=args, prog_name="tokenprism", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C before a command could keep anything
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    return code if isinstance(code, int) else 0  # click.exceptions.Exit(n) raised by a command: its code, quietly

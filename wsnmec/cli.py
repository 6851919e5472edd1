"""The ``wsnmec`` command line.

Command bodies are thin: they parse options, call the library and print or write what it returns. Every
error in user input is reported as one line on stderr naming the parameter, with exit code 2 and no
traceback.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import ParameterError

EXIT_BAD_INPUT = 2


def fail(parameter: str, message: str):
    """Raise the one-line bad-input error for ``parameter``."""
    raise ParameterError(parameter, message)


class WsnmecGroup(click.Group):
    """A click group that reports bad input on one line with exit code 2 (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ParameterError as exc:
            click.echo(f"Error: {exc.parameter}: {exc.message}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as exc:
            click.echo(f"Error: {exc.format_message()}".replace("\n", " "), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}".replace("\n", " "), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        if isinstance(rv, int):
            sys.exit(rv)
        sys.exit(0)


@click.group(cls=WsnmecGroup)
@click.version_option(__version__, prog_name="wsnmec")
def main():
    """wsnmec: WSN energy-lifetime simulation with MEC offloading."""


# --- wsnmec run (lifetime simulator) ----------------------------------------------------------------


# --- wsnmec offload (offloading engine) ----------------------------------------------------------------


# --- wsnmec study / figures (studies and figures) -------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    main()

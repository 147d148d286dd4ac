"""The entry point: the argument parser, dispatch to a command, and exit statuses."""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from collections.abc import Callable, Sequence

from .base import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, PROG, RunFailed, UsageError
from .flags import add_method_flags, add_settings_flags, method_parser_options
from .render import HelpFormatter


class _Commands(dict):
    """The subcommand table. ``zero_shot`` finds ``zero-shot`` (a hidden alias: each command is listed
    once, dashed), and a command's flags are added when it is looked up, not for every ``--help``."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[str, Callable[[], None]] = {}

    @staticmethod
    def _key(name: object) -> object:
        return name.replace("_", "-") if isinstance(name, str) else name

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def __getitem__(self, name: str) -> argparse.ArgumentParser:
        key = self._key(name)
        parser = super().__getitem__(key)
        add_flags = self.pending.pop(key, None)
        if add_flags is not None:
            add_flags()
        return parser

    def get(self, name, default=None):
        try:
            return self[name]
        except KeyError:
            return default


def build_parser() -> argparse.ArgumentParser:
    """The ``hf-frame`` parser: demo, cache, and one command per method (from the command catalog,
    so no method module, pandas, polars or pyarrow is imported to build it)."""
    from .._version import __version__
    from . import catalog
    from .demo import run_demo

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=HelpFormatter, usage="%(prog)s [-h] [--version] COMMAND ...",
        description="Run Hugging Face inference over a CSV, TSV, Parquet or JSONL file: every df.hf method is a "
                    "command. Or run the offline demo.",
        epilog="Run '%(prog)s COMMAND --help' for a command's flags. Exit status: 0 done, 1 the run failed "
               "(every row failed, --errors raise, a bad token or model, an unreachable server), 2 a usage "
               "error, 130 interrupted.",
    )
    parser._optionals.title = "options"  # the same heading on every Python version
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    sub._name_parser_map = sub.choices = _Commands()  # argparse keeps the table here

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        command = sub.add_parser(name, prog=f"{PROG} {name}", formatter_class=HelpFormatter, **kwargs)
        command._optionals.title = "options"
        return command

    demo = add("demo", help="Offline demo: semantic search and similarity over bundled product reviews.",
               description=run_demo.__doc__, usage="%(prog)s [--query TEXT] [-k N] [-m MODEL] [options]")
    demo.set_defaults(command="demo", command_name="demo")
    demo.add_argument("--query", action="append", metavar="TEXT",
                      help="a search query, repeatable (default: three examples)")
    demo.add_argument("-k", "--k", type=int, default=3, metavar="N", help="reviews shown per query (default: 3)")
    demo.add_argument("-m", "--model", metavar="MODEL",
                      help="another embedding model (default: the packaged all-MiniLM-L6-v2)")
    add_settings_flags(demo)

    cache = add("cache", help="Where answers are cached and how many; --clear deletes them.",
                usage="%(prog)s [--clear] [options]",
                description="Where answers are cached and how many; --clear deletes them. The settings flags "
                            "choose the cache, as in a method command.")
    cache.set_defaults(command="cache", command_name="cache")
    cache.add_argument("--clear", action="store_true", help="delete every cached answer")
    add_settings_flags(cache)

    for command in sorted(catalog.commands().values(), key=lambda c: c.name):
        method = add(command.name, **method_parser_options(command))
        sub.choices.pending[command.name] = functools.partial(add_method_flags, method, command)
    return parser


def _unknown(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> None:
    """Report arguments no parser took with the usage of the command they were given to (exits 2)."""
    import difflib

    command = parser._subparsers._group_actions[0].choices.get(getattr(args, "command_name", None)) or parser
    message = f"unrecognized arguments: {' '.join(extra)}"
    known = [s for action in command._actions for s in action.option_strings]
    close = [difflib.get_close_matches(a.split("=", 1)[0], known, n=1, cutoff=0.75) for a in extra
             if a.startswith("--")]
    hints = sorted({match[0] for match in close if match})
    if hints:
        message += f" (did you mean {' or '.join(hints)}?)"
    command.error(message)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    from ..errors import ConfigError, HFFrameError, InputError, RowErrors

    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            _unknown(parser, args, extra)
    except SystemExit as exc:  # --help / --version (0) and usage errors (2)
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    def fail(status: int, message: str) -> int:
        print(f"{PROG}: {'error' if status == EXIT_USAGE else 'failed'}: {message}", file=sys.stderr)
        return status

    saved = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args)
        if args.command == "cache":
            from .cache_cmd import run_cache

            return run_cache(args)
        from .method_cmd import run_method

        return run_method(args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted; the answers received so far are cached: run the same command "
              "again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (RowErrors, RunFailed) as exc:
        return fail(EXIT_FAILED, str(exc))
    except (UsageError, ConfigError, InputError) as exc:
        return fail(EXIT_USAGE, str(exc))
    except HFFrameError as exc:
        return fail(EXIT_FAILED, str(exc))
    except KeyError as exc:
        return fail(EXIT_USAGE, str(exc.args[0]) if exc.args else repr(exc))
    except (ValueError, TypeError) as exc:
        return fail(EXIT_USAGE, str(exc))
    except ImportError as exc:
        return fail(EXIT_FAILED, str(exc))
    finally:
        warnings.showwarning = saved

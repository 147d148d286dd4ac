"""The entry point: the argument parser, dispatch to a command, and exit statuses."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .base import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, PROG, RunFailed, UsageError
from .flags import _add_method_parser, add_settings_flags


def build_parser() -> argparse.ArgumentParser:
    from ..methods import METHODS
    from .cache_cmd import run_cache
    from .demo import run_demo

    parser = argparse.ArgumentParser(
        prog=PROG, description="Run Hugging Face inference over a CSV, Parquet or JSONL file (every df.hf method is a command), or the offline demo.",
        epilog="Run '%(prog)s METHOD --help' for a method's flags. Docs: README.md.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = sub.add_parser("demo", help="offline demo: semantic search and similarity on bundled reviews",
                          description=run_demo.__doc__)
    demo.set_defaults(command="demo")
    demo.add_argument("--query", action="append", help="a search query (repeatable; default: three examples)")
    demo.add_argument("-k", "--k", type=int, default=3, help="reviews shown per query (default 3)")
    demo.add_argument("-m", "--model", help="another embedding model (default: the packaged all-MiniLM-L6-v2)")
    add_settings_flags(demo)

    cache = sub.add_parser("cache", help="show (or --clear) the answer cache", description=run_cache.__doc__)
    cache.set_defaults(command="cache")
    cache.add_argument("--clear", action="store_true", help="delete every cached answer")
    add_settings_flags(cache)

    for name in sorted(METHODS):
        _add_method_parser(sub, name, METHODS[name])
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    from ..errors import ConfigError, HFFrameError, InputError, RowErrors

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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

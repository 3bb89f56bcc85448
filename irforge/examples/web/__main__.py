"""`python -m irforge.examples.web [--out DIR] [--serve PORT]`: build (and serve) the demo."""

from __future__ import annotations

import argparse
import sys

DEFAULT_OUT = "irforge-web-demo"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m irforge.examples.web",
        description="Build the browser demo: the digits classifier compiled to WebAssembly.",
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory to write the page and the model into (default: ./{DEFAULT_OUT})",
    )
    p.add_argument(
        "--serve",
        type=int,
        default=None,
        metavar="PORT",
        help="then serve DIR on http://127.0.0.1:PORT until Ctrl-C (0: any free port)",
    )


def run(out: str, serve: int | None) -> int:
    """Build into `out`, print what was written, serve if `serve` is a port."""
    from irforge.examples.web import build_demo, make_server

    if serve is not None and not 0 <= serve <= 65535:
        raise ValueError(f"--serve: port {serve} is not in 0-65535")
    paths = build_demo(out)
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    if serve is None:
        print(f"serve it with: python -m irforge.examples.web --out {out} --serve 8000")
        return 0
    server = make_server(out, serve)
    print(f"serving {out} at http://127.0.0.1:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from irforge.diagnostics import fail, user_errors

    try:
        return run(args.out, args.serve)
    except user_errors() as e:
        return fail(e)


if __name__ == "__main__":
    sys.exit(main())

"""python -m web: serve the Mien page with a production WSGI server (waitress)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from waitress import serve

from web import REPO, check_health, create_app


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m web", description="Serve the Mien page.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    parser.add_argument("--model-dir", type=Path, default=REPO / "static" / "model",
                        help="exported model folder (default: static/model); sibling folders named "
                        "like it (model-7) are offered on the page too")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default: 8)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    app = create_app({"MODEL_DIR": args.model_dir})
    health = check_health(app)
    for part in ("model", "vendor"):
        if not health[part]["ok"]:
            print(f"error: {health[part]['problem']} The page will say so too.", file=sys.stderr)
    logging.getLogger("waitress").setLevel(logging.ERROR)
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    print(f"Mien is at {url} (Ctrl-C stops it)", flush=True)
    try:
        serve(app, host=args.host, port=args.port, threads=args.threads)
    except OSError as error:
        sys.exit(f"error: cannot listen on {args.host}:{args.port} ({error.strerror}); choose another --port.")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""python -m web: serve the Mien page with a production WSGI server (waitress)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from facts import MODEL_DIR, REPO
from web import check_health, create_app
from web.serving import REQUEST_TIMEOUT, create_server


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m web", description="Serve the Mien page.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR,
                        help="exported model folder (default: component/models/model); sibling folders named "
                        "like it (model-7) are offered on the page too")
    parser.add_argument("--threads", type=int, default=8, help="worker threads (default: 8)")
    parser.add_argument("--request-timeout", type=int, default=REQUEST_TIMEOUT,
                        help=f"seconds a request may take to arrive, and an idle connection may stay open "
                        f"(default: {REQUEST_TIMEOUT})")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    app = create_app({"MODEL_DIR": args.model_dir})
    health = check_health(app)
    for part in ("model", "vendor"):
        if not health[part]["ok"]:
            print(f"error: {health[part]['problem']} The page will say so too.", file=sys.stderr)
    logging.getLogger("waitress").setLevel(logging.ERROR)
    try:
        server = create_server(app, args.host, args.port, args.threads, args.request_timeout)
    except OSError as error:
        sys.exit(f"error: cannot listen on {args.host}:{args.port} ({error.strerror}); choose another --port.")
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{server.effective_port}/"
    print(f"Mien is at {url} (Ctrl-C stops it)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

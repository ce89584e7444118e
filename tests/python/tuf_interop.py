#!/usr/bin/env python3
"""Interoperability check: a stock python-tuf client (ngclient.Updater) against a tufmirror output.

    tuf_interop.py --root KEYS/1.root.json --out OUTDIR [--expected FILE] [--target config.json]
    tuf_interop.py --root KEYS/1.root.json --url http://127.0.0.1:PORT/ --expected FILE
    tuf_interop.py ... --expect-failure [--expect-error UnsignedMetadataError]

It bootstraps a fresh, temporary metadata directory from the given root, refreshes against
`<base>/tuf/` (metadata) and `<base>/index/` (targets), looks up the target (`config.json` by
default), downloads it and compares its bytes with the expected file (default: OUTDIR/index/<target>,
read before the client runs). Without --url it serves OUTDIR itself, on 127.0.0.1 only, from an
ephemeral port, for the duration of the check.

Exit status: 0 success; 1 failure (python-tuf's exception is printed); 2 usage error.
With --expect-failure the status is inverted, but only a failure that python-tuf itself raised
(an exception of tuf.api.exceptions.RepositoryError, such as UnsignedMetadataError,
BadVersionNumberError, ExpiredMetadataError or LengthOrHashMismatchError) counts: a crash of this
script, an unreachable server or a missing file is still exit 1.
"""

import argparse
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import traceback


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        if os.environ.get("TUF_INTEROP_HTTP_LOG"):
            sys.stderr.write("tuf_interop: http: " + (format % args) + "\n")


class LoopbackServer:
    """Serves a directory on 127.0.0.1 from an ephemeral port, in a background thread."""

    def __init__(self, directory):
        handler = functools.partial(QuietHandler, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="tuf-interop-http", daemon=True
        )

    @property
    def base_url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def run_client(root_bytes, base_url, target, workdir, metadata_url=None, target_url=None, state=None):
    """Runs the python-tuf client; returns (target bytes, summary). python-tuf's errors propagate.

    With `state`, the trusted metadata lives on in state/metadata between runs (a client that
    keeps what it trusted, as a real one does): root_bytes bootstraps only the first run."""
    from tuf.ngclient import Updater

    metadata_dir = os.path.join(state or workdir, "metadata")
    target_dir = os.path.join(workdir, "targets")
    bootstrap = root_bytes
    if state and os.path.exists(os.path.join(metadata_dir, "root.json")):
        bootstrap = None  # the root trusted by the previous run
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(target_dir)
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=metadata_url or base_url + "tuf/",
        target_base_url=target_url or base_url + "index/",
        target_dir=target_dir,
        bootstrap=bootstrap,
    )
    updater.refresh()
    info = updater.get_targetinfo(target)
    if info is None:
        return None, f"python-tuf found no target {target!r} in the targets metadata"
    path = updater.download_target(info, filepath=os.path.join(target_dir, "downloaded"))
    with open(path, "rb") as f:
        data = f.read()
    return data, _summary(metadata_dir, target, info)


def _summary(metadata_dir, target, info):
    import json

    versions = []
    for role in ("root", "timestamp", "snapshot", "targets"):
        try:
            with open(os.path.join(metadata_dir, role + ".json"), "rb") as f:
                versions.append(f"{role} v{json.load(f)['signed']['version']}")
        except (OSError, ValueError, KeyError):
            versions.append(f"{role} (not stored)")
    return f"trusted {', '.join(versions)}; target {target} ({info.length} bytes, sha256 {info.hashes.get('sha256')})"


def python_tuf_error_types():
    from tuf.api import exceptions

    return exceptions, (exceptions.RepositoryError,)


def main(argv=None):
    ap = argparse.ArgumentParser(description="python-tuf ngclient against a tufmirror repository")
    ap.add_argument("--root", required=True, help="trusted root metadata to bootstrap from (e.g. KEYS/1.root.json)")
    ap.add_argument("--out", help="tufmirror output directory to serve on 127.0.0.1 (and default --expected)")
    ap.add_argument("--url", help="base URL of an already running mirror instead of serving --out")
    ap.add_argument("--metadata-url", help="metadata base URL (default: <base>/tuf/)")
    ap.add_argument("--target-url", help="target base URL (default: <base>/index/)")
    ap.add_argument("--target", default="config.json", help="target to fetch (default: config.json)")
    ap.add_argument("--expected", help="file the downloaded target must equal (default: OUT/index/<target>)")
    ap.add_argument("--state", help="keep the trusted metadata in STATE/metadata across runs (bootstrap once)")
    ap.add_argument("--expect-failure", action="store_true",
                    help="succeed only if python-tuf refuses the repository (a tuf.api.exceptions.RepositoryError)")
    ap.add_argument("--expect-error", metavar="NAME",
                    help="with --expect-failure: the exception must be (a subclass of) tuf.api.exceptions.NAME")
    args = ap.parse_args(argv)
    if not args.out and not args.url:
        ap.error("give --out (served on 127.0.0.1) or --url")
    if args.expect_error and not args.expect_failure:
        ap.error("--expect-error needs --expect-failure")

    try:
        exceptions, tuf_errors = python_tuf_error_types()
    except ImportError as e:
        print(f"tuf_interop: FAIL: python-tuf is not importable ({e}); run tests/python/setup-venv.sh")
        return 1
    wanted = tuf_errors
    if args.expect_error:
        cls = getattr(exceptions, args.expect_error, None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            ap.error(f"tuf.api.exceptions has no exception class {args.expect_error!r}")
        wanted = (cls,)

    try:
        with open(args.root, "rb") as f:
            root_bytes = f.read()
        expected_path = args.expected or (os.path.join(args.out, "index", *args.target.split("/")) if args.out else None)
        expected = None
        if expected_path:
            with open(expected_path, "rb") as f:
                expected = f.read()
    except OSError as e:
        print(f"tuf_interop: FAIL: cannot read input: {e}")
        return 1

    workdir = tempfile.mkdtemp(prefix="tuf-interop-")
    failure = None  # (exception, raised by python-tuf?)
    try:
        try:
            if args.url:
                base = args.url if args.url.endswith("/") else args.url + "/"
                data, summary = run_client(root_bytes, base, args.target, workdir, args.metadata_url, args.target_url,
                                           args.state)
            else:
                with LoopbackServer(args.out) as server:
                    data, summary = run_client(root_bytes, server.base_url, args.target, workdir,
                                               args.metadata_url, args.target_url, args.state)
        except Exception as e:  # classified below: only python-tuf's own refusals count
            failure = e
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if failure is not None:
        is_tuf = isinstance(failure, tuf_errors)
        name = f"{type(failure).__module__}.{type(failure).__name__}"
        if args.expect_failure:
            if isinstance(failure, wanted):
                print(f"tuf_interop: ok: python-tuf refused the repository as expected: {name}: {failure}")
                return 0
            if is_tuf:
                print(f"tuf_interop: FAIL: python-tuf refused the repository, but with {name}: {failure} "
                      f"(expected {' or '.join(c.__name__ for c in wanted)})")
            else:
                traceback.print_exception(type(failure), failure, failure.__traceback__)
                print(f"tuf_interop: FAIL: expected python-tuf to refuse the repository, but the check failed "
                      f"otherwise: {name}: {failure}")
            return 1
        traceback.print_exception(type(failure), failure, failure.__traceback__)
        print(f"tuf_interop: FAIL: {'python-tuf refused the repository' if is_tuf else 'error'}: {name}: {failure}")
        return 1

    if data is None:
        print(f"tuf_interop: FAIL: {summary}")
        return 1
    if args.expect_failure:
        print(f"tuf_interop: FAIL: python-tuf accepted the repository, a failure was expected ({summary})")
        return 1
    if expected is not None and data != expected:
        print(f"tuf_interop: FAIL: python-tuf downloaded {len(data)} bytes of {args.target} that differ from "
              f"{expected_path} ({len(expected)} bytes)")
        return 1
    print(f"tuf_interop: ok: {summary}{'; bytes match ' + expected_path if expected is not None else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

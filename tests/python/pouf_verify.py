#!/usr/bin/env python3
"""An independent verifier of POUF-tufmirror-1 (docs/POUF.md); the code is in the `pouf` package
next to this file. Needs pyca/cryptography (tests/python/requirements.txt) for signatures.

``pouf_verify.py OUTDIR``
    Audits the output directory of ``tufmirror publish`` (pouf/audit.py):

    * TUF: the root chain from ``tuf/1.root.json`` (or ``--trusted-root``), key ids (POUF 1.2),
      signature thresholds (Ed25519 and ECDSA P-256), the current timestamp -> ``N.snapshot.json``
      -> ``M.targets.json`` -> ``config.json`` chain of lengths and hashes;
    * Merkle (POUF 1.4, 1.5): for every index file of ``snapshots/N/index`` the inclusion proof
      ``snapshots/N/proofs/<path>`` against the timestamp's ``merkle_root``/``merkle_tree_size`` and
      the file's bytes; the files, the proofs and the leaf list name the same paths;
    * the leaf list ``snapshots/N/leaves.json`` recomputes to the signed root (the bucketed tree of
      POUF 1.4), and each proof's leaf is its entry there;
    * history (POUF 1.6): ``history/1..N.diff.json`` replayed from the empty tree, each root
      checked against every ``history/V.timestamp.json`` that names that snapshot (two timestamps
      naming different roots for one snapshot are an equivocation), removal records in the targets
      metadata of every snapshot equal to the diff's ``removed``; every other retained snapshot's
      leaf list and proofs are checked against the replayed root too;
    * the newest root and the current timestamp, snapshot and targets are not expired (what every
      TUF client refuses; ``--allow-expired`` to audit an old copy);
    * with ``--check-layout``, the symbolic links of POUF 2.3.

    ``--no-signatures`` skips the signature checks, to show that the Merkle layer alone catches a
    forged ``merkle_root`` (as it must if the online timestamp key is compromised).

    Prints ``pouf_verify: <n> proofs ok, root <hex> (...)`` and exits 0, or prints the failing
    file and the reason and exits 1.

``pouf_verify.py --proof FILE --root HEX --size N --version V --path P [--file F]``
    Checks one inclusion proof (and, with ``--file``, that the file is its leaf), or one
    non-inclusion proof (a proof object with ``"absent"``; no ``--file``). Exit 0 / 1.

``pouf_verify.py --self-test``
    Known-answer tests of the primitives (pouf/selftest.py).

Exit status: 0 verified, 1 verification failed, 2 usage error, 3 internal error of this script
(a bug here, or a missing module, must never pass for a rejected proof).
"""

import argparse
import sys
import time
import traceback

try:
    from pouf import selftest
    from pouf.audit import Audit
    from pouf.fields import HEX64, VerifyError, load_json, read_bytes
    from pouf.merkle import bucket_of, verify_file_proof, verify_inclusion, verify_non_inclusion
except Exception:  # noqa: BLE001 - Python's own exit status for this would be 1, "rejected"
    traceback.print_exc()
    print("pouf_verify: INTERNAL ERROR: cannot load the pouf package (is cryptography installed?)", file=sys.stderr)
    sys.exit(3)


def proof_mode(args):
    where = args.proof
    proof = load_json(args.proof)
    root = args.root
    if isinstance(proof, dict) and "absent" in proof:
        if args.file:
            raise VerifyError(where, "a non-inclusion proof says a path is absent: there is no --file to check")
        verify_non_inclusion(proof, args.path, root, args.size, args.version, where)
        print(f"pouf_verify: non-inclusion proof ok: {args.path} is not in snapshot {args.version} (its bucket "
              f"{bucket_of(args.path)} holds {len(proof['bucket_leaves'])} leaves; {args.size} leaves, root {root})")
        return
    if args.file:
        verify_file_proof(proof, args.path, read_bytes(args.file), root, args.size, args.version, where)
    else:
        verify_inclusion(proof, root, args.size, args.version, where)
        if proof["leaf_contents"]["path"] != args.path:
            raise VerifyError(where, f"proof is for path {proof['leaf_contents']['path']!r}, not {args.path!r}")
    print(f"pouf_verify: proof ok: {args.path} is in bucket {bucket_of(args.path)} of snapshot {args.version} "
          f"({args.size} leaves, root {root})")


def audit_mode(args):
    log = (lambda m: print("pouf_verify: " + m, file=sys.stderr)) if args.verbose else None
    now = None if args.allow_expired else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    r = Audit(args.outdir, args.trusted_root, signatures=not args.no_signatures,
              check_layout=args.check_layout, log=log, now=now).run()
    older = f", older retained snapshots {','.join(map(str, r['older']))} ok" if r["older"] else ""
    print(
        f"pouf_verify: {r['proofs']} proofs ok, root {r['root']} (snapshot {r['snapshot']}, tree size {r['size']}, "
        f"timestamp v{r['timestamp']}, root v{r['root_version']}, {r['diffs']} diffs replayed, "
        f"{r['timestamps']} timestamps checked{older}"
        f"{', signatures NOT checked' if args.no_signatures else ''})"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent POUF-tufmirror-1 verifier.")
    ap.add_argument("outdir", nargs="?", help="output directory of `tufmirror publish`")
    ap.add_argument("--trusted-root", help="root metadata to trust (default: OUTDIR/tuf/1.root.json)")
    ap.add_argument("--no-signatures", action="store_true", help="skip signature checks (to test the Merkle layer alone)")
    ap.add_argument("--check-layout", action="store_true", help="also check the symbolic links of POUF 2.3")
    ap.add_argument("--allow-expired", action="store_true",
                    help="do not refuse expired current metadata (to audit an old copy)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--proof", help="check one proof file instead of a directory")
    ap.add_argument("--root", help="with --proof: the signed merkle_root (hex)")
    ap.add_argument("--size", type=int, help="with --proof: the signed merkle_tree_size")
    ap.add_argument("--version", type=int, help="with --proof: the snapshot version the timestamp names")
    ap.add_argument("--path", help="with --proof: the index path asked for")
    ap.add_argument("--file", help="with --proof: the file's bytes (inclusion proofs)")
    ap.add_argument("--self-test", action="store_true", help="run known-answer tests of the primitives")
    args = ap.parse_args(argv)

    try:
        if args.self_test:
            print(f"pouf_verify: self-test ok ({selftest.run()} checks)")
        elif args.proof:
            if args.root is None or args.size is None or args.version is None or args.path is None:
                ap.error("--proof needs --root, --size, --version and --path")
            if not HEX64.match(args.root) or args.size < 0 or args.version < 0:
                ap.error("--root must be 64 lowercase hex digits, --size and --version non-negative")
            proof_mode(args)
        elif args.outdir:
            audit_mode(args)
        else:
            ap.error("give OUTDIR, --proof ... or --self-test")
        return 0
    except VerifyError as e:
        print(f"pouf_verify: FAIL: {e.where}: {e.reason}")
        return 1
    except SystemExit:
        raise
    except Exception:  # a bug in this script: never report it as a verdict on the data
        traceback.print_exc()
        print("pouf_verify: INTERNAL ERROR (a bug in pouf_verify.py, not a verdict)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

"""An independent verifier of POUF-tufmirror-1 (docs/POUF.md), written from the POUF rather than
from crates/core, so that a disagreement shows up as a failing test instead of as two copies of
one mistake. The command line is ../pouf_verify.py.

    cjson     canonical JSON (POUF 1.1), strict JSON reading
    fields    VerifyError, field checks, index paths (1.7)
    merkle    the tree (1.4), proofs (1.5), leaf lists and diffs (1.6)
    metadata  keys, key ids and signatures (1.2), TUF metadata (1.3)
    audit     an output directory of `tufmirror publish` (2.1, 2.3)
    selftest  known-answer tests of the primitives

Signatures are verified with pyca/cryptography; everything else uses the standard library.
"""

"""Checks a role's metadata against a root with python-tuf, which shares no code with tufmirror.

    verify_signature.py ROOT.json ROLE METADATA.json

Loads both files with tuf.api.metadata and runs Metadata.verify_delegate(ROLE, METADATA): the
signatures of the keys that ROOT lists for ROLE must reach its threshold over the canonical form of
METADATA's "signed" object. Used by crates/signer/tests to check every signer backend's signatures.

Exit status: 0 verified; 1 rejected (the reason on stdout); 2 the files could not be read.
"""

import sys

from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, Root


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    root_path, role, metadata_path = argv[1:]
    try:
        root = Metadata[Root].from_file(root_path)
        metadata = Metadata.from_file(metadata_path)
    except Exception as e:  # noqa: BLE001 - any unreadable input is a setup failure, not a verdict
        print(f"cannot read the metadata: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if metadata.signed.type != role:
        print(f"rejected: {metadata_path} is {metadata.signed.type} metadata, not {role}")
        return 1
    try:
        root.verify_delegate(role, metadata)
    except UnsignedMetadataError as e:
        print(f"rejected: {e}")
        return 1
    keyids = ", ".join(s for s in metadata.signatures)
    print(f"verified: {role} signed by {keyids}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

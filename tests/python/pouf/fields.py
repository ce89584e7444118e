"""What every other module uses: the verdict exception, reading files as strict JSON, field checks
and the index paths of POUF 1.7."""

import re

from .cjson import strict_loads

HEX64 = re.compile(r"[0-9a-f]{64}\Z")
CRATE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}\Z")


class VerifyError(Exception):
    """A verification failure: `where` names the file (or object), `reason` says what is wrong."""

    def __init__(self, where, reason):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def parse_json(data, where):
    try:
        return strict_loads(data)
    except (ValueError, RecursionError) as e:
        raise VerifyError(where, f"not valid JSON: {e}") from None


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise VerifyError(path, f"cannot read: {e.strerror or e}") from None


def load_json(path):
    return parse_json(read_bytes(path), path)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _field(obj, key):
    return obj.get(key) if isinstance(obj, dict) else None


def _need(obj, key, where, ok, what, show=repr):
    v = _field(obj, key)
    if not ok(v):
        raise VerifyError(where, f"{key!r} must be {what}, found {show(v)}")
    return v


def need_uint(obj, key, where):
    return _need(obj, key, where, is_uint, "a non-negative integer")


def need_str(obj, key, where):
    return _need(obj, key, where, lambda v: isinstance(v, str), "a string")


def need_hex64(obj, key, where):
    v = need_str(obj, key, where)
    if not HEX64.match(v):
        raise VerifyError(where, f"{key!r} must be 64 lowercase hex digits, found {v!r}")
    return v


def need_dict(obj, key, where):
    return _need(obj, key, where, lambda v: isinstance(v, dict), "an object", lambda v: type(v).__name__)


def need_list(obj, key, where):
    return _need(obj, key, where, lambda v: isinstance(v, list), "an array", lambda v: type(v).__name__)


def exact_keys(obj, keys, where):
    if not isinstance(obj, dict):
        raise VerifyError(where, f"expected an object, found {type(obj).__name__}")
    if set(obj) != set(keys):
        missing = sorted(set(keys) - set(obj))
        extra = sorted(set(obj) - set(keys))
        raise VerifyError(where, f"object must have exactly the fields {sorted(keys)} (missing {missing}, unexpected {extra})")


def path_bytes(p):
    """The sort key of paths: their UTF-8 bytes (POUF 1.4)."""
    return p.encode("utf-8")


def index_path_ok(path):
    """POUF 1.7: the sparse-index path of a lowercase crate name."""
    if not isinstance(path, str):
        return False
    name = path.rsplit("/", 1)[-1]
    if not CRATE_NAME.match(name):
        return False
    if len(name) <= 2:
        expected = f"{len(name)}/{name}"
    elif len(name) == 3:
        expected = f"3/{name[0]}/{name}"
    else:
        expected = f"{name[:2]}/{name[2:4]}/{name}"
    return path == expected

"""Canonical JSON (POUF 1.1), byte for byte as securesystemslib's encode_canonical writes it, and
the strict JSON reader that everything signed is parsed with."""

import json


def canonical_json(obj):
    """The canonical JSON bytes of a JSON value: keys sorted by code point, no white space, only
    `"` and `\\` escaped, integers only. Anything else raises ValueError."""
    out = []
    _write(obj, out)
    # No surrogatepass: a lone surrogate has no UTF-8 form and must be refused.
    return "".join(out).encode("utf-8")


def _write(obj, out):
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, str):
        out.append('"' + obj.replace("\\", "\\\\").replace('"', '\\"') + '"')
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, str):
                raise ValueError(f"canonical JSON object keys are strings, found {key!r}")
        out.append("{")
        # Python compares str by code point, which is the order of their UTF-8 bytes.
        for i, key in enumerate(sorted(obj)):
            if i:
                out.append(",")
            _write(key, out)
            out.append(":")
            _write(obj[key], out)
        out.append("}")
    else:
        raise ValueError(f"no canonical JSON form for {type(obj).__name__} ({obj!r})")


def strict_loads(data):
    """Strict JSON: UTF-8, no duplicate keys, no floats, no NaN/Infinity. Raises ValueError (or
    RecursionError for absurd nesting)."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_refuse_float, parse_constant=_refuse_constant)


def _refuse_float(text):
    raise ValueError(f"floating point number {text} (TUF and the POUF allow integers only)")


def _refuse_constant(text):
    raise ValueError(f"non-JSON constant {text}")


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate object key {key!r}")
        obj[key] = value
    return obj

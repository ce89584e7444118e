"""The audit of the output directory of `tufmirror publish` (POUF 2.1, 2.3): the TUF chain of
metadata, every retained snapshot's files against its proofs, and all of history."""

import os
import re

from .fields import VerifyError, exact_keys, index_path_ok, is_uint, load_json, need_dict, need_hex64, need_str, \
    need_uint, path_bytes, read_bytes
from .merkle import EMPTY_ROOT, apply_diff, check_leaf_list, verify_file_proof
from .metadata import Root, check_meta_pin, parse_envelope

ROOT_VERSION = "x-tufmirror-root-version"


class Audit:
    def __init__(self, out, trusted_root=None, signatures=True, check_layout=False, log=None, now=None):
        self.out = out
        # None: no expiry checks. Otherwise "YYYY-MM-DDTHH:MM:SSZ", which compares as a string.
        self.now = now
        self.trusted_root_path = trusted_root or os.path.join(out, "tuf", "1.root.json")
        self.signatures = signatures
        self.check_layout = check_layout
        self.log = log or (lambda msg: None)
        self.roots = []  # the verified chain, oldest first
        self.floor = {}  # role -> the root its last historical metadata was bound to (POUF 1.9)

    def p(self, *parts):
        return os.path.join(self.out, *parts)

    def run(self):
        """The whole audit; returns the numbers of the summary line."""
        self.load_roots()
        self.log(f"root chain v1..v{self.roots[-1].version} ok")

        ts_path = self.p("tuf", "timestamp.json")
        ts_bytes = read_bytes(ts_path)
        ts = parse_envelope(ts_bytes, "timestamp", ts_path)
        self.check_signed("timestamp", ts, ts_path)
        n, root, size = self.timestamp_values(ts, ts_path)
        ts_version = ts["signed"]["version"]
        if self.check_layout:
            self.check_symlink(self.p("current"), f"snapshots/{n}")
            self.check_symlink(self.p("index"), "current/index")
            self.check_symlink(ts_path, "../current/timestamp.json")
        senv, tenv, tpath = self.check_current_chain(ts, ts_path, n)

        # The current snapshot, as a client sees it: every file with its proof against the signed root.
        if not os.path.isdir(self.p("snapshots", str(n))):
            raise VerifyError(self.p("snapshots", str(n)), "the current snapshot is not published")
        proofs, current_leaves = self.check_snapshot_tree(n, root, size)
        self.log(f"snapshot {n}: {proofs} proofs ok against merkle_root {root}")

        named, timestamps = self.check_timestamp_history(ts_path, ts_bytes, ts_version, n)
        roots, leaves_at = self.replay_diffs(n, named, tenv, tpath)
        if roots[n] != (root, size):
            raise VerifyError(ts_path, f"signs root {root}/{size}, the diffs give {roots[n][0]}/{roots[n][1]}")
        if current_leaves != leaves_at[n]:
            raise VerifyError(self.p("snapshots", str(n), "leaves.json"), "leaves differ from those that the diffs produce")
        self.log(f"diffs 1..{n} replay to every signed root")

        older = []
        for k in sorted(leaves_at):
            if k != n:
                self.check_snapshot_tree(k, roots[k][0], roots[k][1], expected_leaves=leaves_at[k])
                older.append(k)
        return {"proofs": proofs, "root": root, "snapshot": n, "size": size, "timestamp": ts_version, "diffs": n,
                "timestamps": timestamps, "root_version": self.roots[-1].version, "older": older}

    # -- TUF ------------------------------------------------------------------------------

    def load_roots(self):
        """The trusted root, then N.root.json for N = 2, 3, ... each signed by the one before and itself."""
        where = self.trusted_root_path
        data = read_bytes(where)
        env = parse_envelope(data, "root", where)
        root = Root(env["signed"], where)
        if self.signatures:
            root.check_signatures("root", env, where)
        if env["signed"].get("consistent_snapshot") is not True:
            raise VerifyError(where, "consistent_snapshot must be true (POUF 1.3)")
        self.roots = [root]
        newest_bytes = data
        first = self.p("tuf", "1.root.json")
        if self.trusted_root_path != first and os.path.exists(first):
            if read_bytes(first) != data and root.version == 1:
                raise VerifyError(first, "differs from the trusted root v1")
        v = root.version + 1
        while os.path.exists(self.p("tuf", f"{v}.root.json")):
            path = self.p("tuf", f"{v}.root.json")
            data = read_bytes(path)
            env = parse_envelope(data, "root", path)
            new = Root(env["signed"], path)
            if self.signatures:
                self.roots[-1].check_signatures("root", env, path + " (by the previous root)")
                new.check_signatures("root", env, path + " (by itself)")
            if new.version != v:
                raise VerifyError(path, f"version {new.version}, expected {v}")
            self.roots.append(new)
            newest_bytes = data
            v += 1
        alias = self.p("tuf", "root.json")
        if os.path.exists(alias) and read_bytes(alias) != newest_bytes:
            raise VerifyError(alias, f"is not the newest root (v{self.roots[-1].version})")

    def check_signed(self, role, env, where, any_root=False):
        """Signatures of `role` by the root that `x-tufmirror-root-version` names (POUF 1.9): for current
        metadata exactly the newest root; for history (any_root) a root of the chain, root 1 when the
        field is absent, never older than the root the role's earlier history was bound to."""
        if not self.signatures:
            return
        signed = env["signed"]
        newest = self.roots[-1].version
        if ROOT_VERSION in signed:
            bound = signed[ROOT_VERSION]
            if not is_uint(bound) or bound < 1:
                raise VerifyError(where, f"{ROOT_VERSION} must be an integer >= 1, not {bound!r}")
        elif not any_root:
            raise VerifyError(where, f"current metadata must carry {ROOT_VERSION} (the newest root, {newest})")
        else:
            bound = 1
        if not any_root:
            if bound != newest:
                raise VerifyError(where, f"is bound to root {bound}, but the newest root is {newest}")
            self.roots[-1].check_signatures(role, env, where)
            return
        if bound > newest:
            raise VerifyError(where, f"is bound to root {bound}, newer than the newest root {newest}")
        floor = self.floor.get(role, 0)
        if bound < floor:
            raise VerifyError(where, f"is bound to root {bound}, older than root {floor} of earlier {role} metadata "
                                     "(bindings never decrease)")
        root = next((r for r in self.roots if r.version == bound), None)
        if root is None:
            raise VerifyError(where, f"is bound to root {bound}, which is not in the verified chain "
                                     f"(roots {self.roots[0].version} to {newest})")
        root.check_signatures(role, env, where)
        self.floor[role] = bound

    @staticmethod
    def timestamp_values(env, where):
        """(snapshot version, merkle_root, merkle_tree_size) of a timestamp."""
        signed = env["signed"]
        meta = need_dict(signed, "meta", where)
        snap = meta.get("snapshot.json")
        if not isinstance(snap, dict):
            raise VerifyError(where, 'no meta["snapshot.json"]')
        n = need_uint(snap, "version", where + ': meta["snapshot.json"]')
        return n, need_hex64(signed, "merkle_root", where), need_uint(signed, "merkle_tree_size", where)

    def load_snapshot_chain(self, n, where_ts, ts_entry, any_root):
        """n.snapshot.json and the targets it names; returns (snapshot env, targets env, targets path)."""
        spath = self.p("tuf", f"{n}.snapshot.json")
        sdata = read_bytes(spath)
        if ts_entry is not None:
            check_meta_pin(ts_entry, sdata, where_ts, "snapshot.json", version=n)
        senv = parse_envelope(sdata, "snapshot", spath)
        self.check_signed("snapshot", senv, spath, any_root)
        if senv["signed"]["version"] != n:
            raise VerifyError(spath, f"version {senv['signed']['version']}, expected {n}")
        tentry = need_dict(senv["signed"], "meta", spath).get("targets.json")
        if not isinstance(tentry, dict) or not is_uint(tentry.get("version")):
            raise VerifyError(spath, 'no meta["targets.json"] with a version')
        m = tentry["version"]
        tpath = self.p("tuf", f"{m}.targets.json")
        tdata = read_bytes(tpath)
        check_meta_pin(tentry, tdata, spath, "targets.json", version=m)
        tenv = parse_envelope(tdata, "targets", tpath)
        self.check_signed("targets", tenv, tpath, any_root)
        if tenv["signed"]["version"] != m:
            raise VerifyError(tpath, f"version {tenv['signed']['version']}, expected {m}")
        need_dict(tenv["signed"], "targets", tpath)
        return senv, tenv, tpath

    def check_current_chain(self, ts, ts_path, n):
        """timestamp -> snapshot -> targets -> config.json, none of them expired; the index served is n's."""
        senv, tenv, tpath = self.load_snapshot_chain(n, ts_path, ts["signed"]["meta"]["snapshot.json"], any_root=False)
        if self.now is not None:
            for what, signed in (("root", self.roots[-1].signed), ("timestamp", ts["signed"]),
                                 ("snapshot", senv["signed"]), ("targets", tenv["signed"])):
                if signed["expires"] <= self.now:
                    raise VerifyError(f"current {what} metadata v{signed['version']}",
                                      f"expired at {signed['expires']} (now {self.now}); --allow-expired to audit anyway")
        cfg_entry = tenv["signed"]["targets"].get("config.json")
        for cfg in (self.p("index", "config.json"), self.p("snapshots", str(n), "index", "config.json")):
            check_meta_pin(cfg_entry, read_bytes(cfg), tpath, f"target config.json ({cfg})")
        cfg_hashed = self.p("index", f"{cfg_entry['hashes']['sha256']}.config.json")
        check_meta_pin(cfg_entry, read_bytes(cfg_hashed), tpath, f"target config.json ({cfg_hashed})")
        served = os.path.realpath(self.p("index"))
        if served != os.path.realpath(self.p("snapshots", str(n), "index")):
            raise VerifyError(self.p("index"), f"serves {served}, not snapshot {n}'s index")
        return senv, tenv, tpath

    def check_removals(self, tenv, tpath, k, removed):
        """The removal records of snapshot k's targets are exactly the paths that diff k removes (POUF 1.6)."""
        records = tenv["signed"].get("x-tufmirror-removals")
        if not isinstance(records, list):
            raise VerifyError(tpath, '"x-tufmirror-removals" must be present and an array (POUF 1.6)')
        paths = []
        for i, rec in enumerate(records):
            w = f"{tpath}: x-tufmirror-removals[{i}]"
            exact_keys(rec, ("path", "snapshot_version", "reason"), w)
            paths.append(need_str(rec, "path", w))
            need_str(rec, "reason", w)
            if need_uint(rec, "snapshot_version", w) != k:
                raise VerifyError(w, f"snapshot_version {rec['snapshot_version']}, expected {k}")
        if sorted(paths, key=path_bytes) != list(removed) or len(set(paths)) != len(paths):
            raise VerifyError(tpath, f"removal records {sorted(paths, key=path_bytes)} are not exactly the paths that "
                                     f"diff {k} removes {list(removed)}")

    # -- history ----------------------------------------------------------------------------

    def check_timestamp_history(self, ts_path, ts_bytes, ts_version, n):
        """Every history/V.timestamp.json: signed, consecutive snapshots never going back, one root per
        snapshot. Returns ({snapshot: (root, size, path)}, number of timestamps)."""
        hdir = self.p("history")
        names = os.listdir(hdir) if os.path.isdir(hdir) else []
        ts_versions = sorted(int(m.group(1)) for m in (re.fullmatch(r"([1-9][0-9]*)\.timestamp\.json", x) for x in names) if m)
        if ts_version not in ts_versions:
            raise VerifyError(self.p("history", f"{ts_version}.timestamp.json"),
                              "the current timestamp is missing from history (POUF 2.1)")
        named = {}
        last_named = 0
        for v in ts_versions:
            hp = self.p("history", f"{v}.timestamp.json")
            hbytes = read_bytes(hp)
            if v == ts_version and hbytes != ts_bytes:
                raise VerifyError(hp, "differs from the current tuf/timestamp.json of the same version")
            henv = parse_envelope(hbytes, "timestamp", hp)
            if henv["signed"]["version"] != v:
                raise VerifyError(hp, f"version {henv['signed']['version']}, the file name says {v}")
            self.check_signed("timestamp", henv, hp, any_root=True)
            hn, hroot, hsize = self.timestamp_values(henv, hp)
            check_meta_pin(henv["signed"]["meta"]["snapshot.json"], read_bytes(self.p("tuf", f"{hn}.snapshot.json")),
                           hp, f"snapshot.json ({hn}.snapshot.json)", version=hn)
            if hn < last_named:
                raise VerifyError(hp, f"names snapshot {hn} after an older timestamp named snapshot {last_named} (rollback)")
            last_named = hn
            if hn > n:
                raise VerifyError(hp, f"names snapshot {hn}, newer than the current snapshot {n}")
            if hn in named and named[hn][:2] != (hroot, hsize):
                raise VerifyError(hp, f"names root {hroot}/{hsize} for snapshot {hn}, {named[hn][2]} names "
                                      f"{named[hn][0]}/{named[hn][1]} (equivocation)")
            named.setdefault(hn, (hroot, hsize, hp))
        if ts_versions[-1] != ts_version:
            raise VerifyError(ts_path, f"version {ts_version} but history has timestamp {ts_versions[-1]}")
        return named, len(ts_versions)

    def replay_diffs(self, n, named, current_tenv, current_tpath):
        """Applies history/1..n.diff.json to the empty tree, checking each root against the timestamps
        that name it and each diff's removals against its targets. Returns ({k: (root, size)} for
        0..n, {k: leaves} for the retained snapshots)."""
        if not os.path.isdir(self.p("snapshots")):
            raise VerifyError(self.p("snapshots"), "missing directory")
        retained = sorted(int(d) for d in os.listdir(self.p("snapshots")) if re.fullmatch(r"[1-9][0-9]*", d))
        for k in retained:
            if k > n:
                raise VerifyError(self.p("snapshots", str(k)), f"is newer than the current snapshot {n}")
        leaves, root = [], EMPTY_ROOT
        roots = {0: (EMPTY_ROOT, 0)}
        leaves_at = {}
        for k in range(1, n + 1):
            dpath = self.p("history", f"{k}.diff.json")
            self.log(f"replaying {dpath}")
            diff = load_json(dpath)
            leaves, root = apply_diff(leaves, diff, dpath, expect_version=k, previous_root=root)
            roots[k] = (root, len(leaves))
            if k in named and named[k][:2] != roots[k]:
                raise VerifyError(dpath, f"gives root {root}/{len(leaves)}, {named[k][2]} signs {named[k][0]}/{named[k][1]}")
            if k in retained:
                leaves_at[k] = list(leaves)
            if k == n:
                tenv, tpath = current_tenv, current_tpath
            else:
                _, tenv, tpath = self.load_snapshot_chain(k, None, None, any_root=True)
            self.check_removals(tenv, tpath, k, diff["removed"])
        return roots, leaves_at

    # -- Merkle -----------------------------------------------------------------------------

    def check_snapshot_tree(self, k, root, size, expected_leaves=None):
        """Leaf list, files and proofs of retained snapshot k; returns (number of proofs, leaves)."""
        base = self.p("snapshots", str(k))
        lpath = os.path.join(base, "leaves.json")
        ll = check_leaf_list(load_json(lpath), lpath, expect_version=k)
        if ll["merkle_root"] != root or ll["tree_size"] != size:
            raise VerifyError(lpath, f"leaves give merkle_root {ll['merkle_root']} with {ll['tree_size']} leaves, the "
                                     f"signed values for snapshot {k} are merkle_root {root} with merkle_tree_size {size}")
        leaves = ll["leaves"]
        if expected_leaves is not None and leaves != expected_leaves:
            raise VerifyError(lpath, "leaves differ from those that the diffs produce")
        for leaf in leaves:
            if not index_path_ok(leaf["path"]):
                raise VerifyError(lpath, f"{leaf['path']!r} is not a sparse-index path of a crate name (POUF 1.7)")
        index_dir = os.path.join(base, "index")
        proofs_dir = os.path.join(base, "proofs")
        leaf_paths = [leaf["path"] for leaf in leaves]
        for top, found, what in ((index_dir, self.walk(index_dir, skip_config=True), "index files are not the leaves"),
                                 (proofs_dir, self.walk(proofs_dir, skip_config=False), "proof files are not the leaves")):
            if sorted(found, key=path_bytes) != leaf_paths:
                extra = sorted(set(found) - set(leaf_paths))[:5]
                missing = sorted(set(leaf_paths) - set(found))[:5]
                raise VerifyError(top, f"{what} (without a leaf: {extra}, leaves without one: {missing})")
        for leaf in leaves:
            path = leaf["path"]
            ppath = os.path.join(proofs_dir, *path.split("/"))
            proof = load_json(ppath)
            verify_file_proof(proof, path, read_bytes(os.path.join(index_dir, *path.split("/"))), root, size, k, ppath)
            # Implied by the root (paths are unique), but said here with a clearer message.
            if proof["leaf_contents"] != leaf:
                raise VerifyError(ppath, f"leaf_contents {proof['leaf_contents']} differ from the entry of {path!r} "
                                         f"in leaves.json {leaf}")
        return len(leaf_paths), leaves

    @staticmethod
    def walk(top, skip_config):
        """Paths of the files under `top`, '/'-separated (without config.json and its hashed copies)."""
        found = []
        if not os.path.isdir(top):  # an empty snapshot need not have proofs/; missing files show below
            return found
        for dirpath, _, filenames in os.walk(top, followlinks=True):
            rel = os.path.relpath(dirpath, top)
            for name in filenames:
                if skip_config and rel == "." and (name == "config.json" or name.endswith(".config.json")):
                    continue
                found.append(name if rel == "." else "/".join(rel.split(os.sep) + [name]))
        return found

    @staticmethod
    def check_symlink(path, target):
        if not os.path.islink(path):
            raise VerifyError(path, f"must be a symbolic link to {target} (POUF 2.3)")
        got = os.readlink(path)
        if got.rstrip("/") != target:
            raise VerifyError(path, f"links to {got!r}, expected {target!r} (POUF 2.3)")

//! The systemd user unit that runs the proxy (`~/.config/systemd/user/tufmirror-proxy.service`).

use std::path::Path;

/// The unit's file name.
pub const UNIT_NAME: &str = "tufmirror-proxy.service";

/// The unit text running `exe` with `args`.
pub fn unit(exe: &Path, args: &[String], mirror_url: &str) -> String {
    let mut command = vec![quote(&exe.to_string_lossy())];
    command.extend(args.iter().map(|a| quote(a)));
    format!(
        "# Written by `tufmirror setup`: cargo reads crates.io's index through this proxy, which\n\
         # passes on only what the mirror's signed metadata and Merkle proofs vouch for.\n\
         [Unit]\n\
         Description=tufmirror verifying proxy for {mirror}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         ExecStart={command}\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        mirror = mirror_url.replace(['\n', '\r'], " ").replace('%', "%%"),
        command = command.join(" "),
    )
}

/// One word of `ExecStart=`: double-quoted with C-style escapes when it needs quoting; `%` (a
/// specifier) and `$` (a variable) doubled, as systemd.service(5) and systemd.unit(5) ask.
fn quote(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain =
        !escaped.is_empty() && escaped.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.:,+=@%$".contains(&b));
    if plain {
        return escaped;
    }
    let mut out = String::from("\"");
    for c in escaped.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_exec_start() {
        assert_eq!(quote("/usr/bin/tufmirror"), "/usr/bin/tufmirror");
        assert_eq!(quote("http://127.0.0.1:7878/"), "http://127.0.0.1:7878/");
        assert_eq!(quote("/home/a b/root.json"), "\"/home/a b/root.json\"");
        assert_eq!(quote("50%"), "50%%");
        assert_eq!(quote("$HOME"), "$$HOME");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn the_unit_runs_the_proxy() {
        let args = ["proxy", "--mirror", "http://m.example/", "--root", "/c/root.json"].map(String::from);
        let text = unit(Path::new("/bin/tufmirror"), &args, "http://m.example/");
        assert!(
            text.contains("\nExecStart=/bin/tufmirror proxy --mirror http://m.example/ --root /c/root.json\n"),
            "{text}"
        );
        assert!(text.contains("WantedBy=default.target"));
    }
}

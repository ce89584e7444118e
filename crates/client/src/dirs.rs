//! Per-user folders, as the XDG base directory specification names them: where the command-line
//! tools keep a mirror's trusted metadata (state) and the root a user chose to trust (config)
//! unless told otherwise.

use std::ffi::OsString;
use std::path::PathBuf;
use tufmirror_core::Sha256Hash;

/// `$XDG_STATE_HOME`, else `$HOME/.local/state`.
pub fn state_home() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME", ".local/state")
}

/// `$XDG_CONFIG_HOME`, else `$HOME/.config`.
pub fn config_home() -> Option<PathBuf> {
    xdg("XDG_CONFIG_HOME", ".config")
}

/// The state folder of `tool` (`verify`, `proxy`) for one mirror:
/// `<state home>/tufmirror/<tool>/<first 16 hex digits of SHA-256 of the URL>`. One folder per
/// mirror URL, so that the trusted metadata of one mirror never meets another's.
pub fn mirror_state_dir(tool: &str, mirror_url: &str) -> Option<PathBuf> {
    Some(state_home()?.join("tufmirror").join(tool).join(url_key(mirror_url)))
}

/// The key of a mirror URL in folder names: the URL with a final `/`, hashed.
pub fn url_key(mirror_url: &str) -> String {
    let url = crate::updater::with_slash(mirror_url);
    Sha256Hash::of(url.as_bytes()).to_hex()[..16].to_owned()
}

fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    // The specification says to ignore relative paths.
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os(var)
        .and_then(absolute)
        .or_else(|| std::env::var_os("HOME").and_then(absolute).map(|home| home.join(fallback)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_or_without_its_final_slash_is_one_mirror() {
        assert_eq!(url_key("http://m.example"), url_key("http://m.example/"));
        assert_ne!(url_key("http://m.example/"), url_key("http://n.example/"));
        assert_eq!(url_key("http://m.example/").len(), 16);
    }
}

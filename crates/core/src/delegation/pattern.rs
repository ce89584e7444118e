//! Delegation path patterns: shell-style wildcards that never cross a `/` (specification
//! 2.2.6, "paths"), matched the way python-tuf matches them.

/// Whether `target` matches the delegation path `pattern`: the specification's shell-style
/// patterns where a wildcard never crosses a `/`. Both are split on `/`, must have as many
/// components, and each component matches like Python's `fnmatch.fnmatchcase` (`*`, `?`,
/// `[seq]`, `[!seq]`; case-sensitive), which is what python-tuf does.
pub fn path_matches(target: &str, pattern: &str) -> bool {
    let (targets, patterns): (Vec<&str>, Vec<&str>) = (target.split('/').collect(), pattern.split('/').collect());
    targets.len() == patterns.len() && targets.iter().zip(&patterns).all(|(t, p)| fnmatch(t, p))
}

/// One element of a component pattern; all but `Star` match exactly one character.
#[derive(Debug)]
enum Token {
    Star,
    Any,
    Char(char),
    Class { negated: bool, items: Vec<(char, char)> },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star | Token::Any => true,
            Token::Char(x) => *x == c,
            Token::Class { negated, items } => items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
        }
    }
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push(Token::Star),
            '?' => out.push(Token::Any),
            '[' => {
                // As in fnmatch.translate: a `]` right after `[` or `[!` is part of the set; a `[`
                // without a closing `]` is a literal.
                let mut j = i + 1;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push(Token::Char('['));
                } else {
                    let mut set = &chars[i + 1..j];
                    let negated = set.first() == Some(&'!');
                    if negated {
                        set = &set[1..];
                    }
                    let mut items = Vec::new();
                    let mut k = 0;
                    while k < set.len() {
                        if k + 2 < set.len() && set[k + 1] == '-' {
                            // A reversed range (`z-a`) is empty, as in Python.
                            items.push((set[k], set[k + 2]));
                            k += 3;
                        } else {
                            items.push((set[k], set[k]));
                            k += 1;
                        }
                    }
                    out.push(Token::Class { negated, items });
                    i = j;
                }
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    out
}

/// Matches one path component. Every token but `*` consumes one character, so the classic
/// two-pointer search that backtracks to the last `*` is exact.
fn fnmatch(name: &str, pattern: &str) -> bool {
    let tokens = tokenize(pattern);
    let name: Vec<char> = name.chars().collect();
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, n));
                t += 1;
            }
            Some(tok) if tok.matches(name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match star {
                Some((st, sn)) => {
                    t = st + 1;
                    n = sn + 1;
                    star = Some((st, sn + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|tok| matches!(tok, Token::Star))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_per_component_like_fnmatchcase() {
        for (target, pattern) in [
            ("README.md", "*.md"),
            ("foo-1.tgz", "foo-?.tgz"),
            ("releases/x/x_v1", "releases/*/*"),
            ("releases/y/y_v1.zip", "releases/y/*.zip"),
            ("a/b", "a/b"),
            ("", "*"),
            ("abc", "*a*b*c*"),
            ("file1", "file[0-9]"),
            ("filex", "file[!0-9]"),
            ("a]", "a[]]"),
            ("a[", "a["),
            ("a-", "a[a-]"),
        ] {
            assert!(path_matches(target, pattern), "{target} ~ {pattern}");
        }
        for (target, pattern) in [
            ("releases/README.md", "*.md"),
            ("foo-alpha.tgz", "foo-?.tgz"),
            ("README.MD", "*.md"),
            ("releases/z/z_v1.zip", "releases/y/*.zip"),
            ("a/b/c", "a/*"),
            ("file5", "file[!0-9]"),
            ("fileb", "file[z-a]"),
            ("abc", "*a*b*c*d"),
        ] {
            assert!(!path_matches(target, pattern), "{target} !~ {pattern}");
        }
    }
}

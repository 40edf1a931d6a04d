//! Automata built on first use.
//!
//! Loading a catalog compiles thousands of regexes and string sets, and most of them never run:
//! the cross-rule prefilter skips a rule unless an event carries one of its literals. So a
//! [`LazyRegex`] checks its pattern at load time with [`crate::ir::check_regex`] (the
//! `regex-syntax` parser under the `regex` crate's own settings, so a bad pattern is still a
//! located load-time error with the same message; a pattern whose compiled form could come near
//! the size limit is compiled right there, so that the limit is met at load time too) and
//! compiles it the first time a value is tested against it; a [`LazyContains`] keeps its
//! needles and builds its Aho-Corasick automaton on first use. Both hold a `OnceLock`: the
//! evaluation threads share one compiled automaton.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use memchr::memmem;
use regex::Regex;

use crate::ir::{build_regex, check_regex, RegexFlags, RegexProblem};

/// The `regex` crate's compiled-size limit used for every rule regex.
const SIZE_LIMIT: usize = 64 << 20;

/// A regex compiled on first use.
#[derive(Debug, Clone)]
pub(crate) struct LazyRegex {
    pattern: String,
    flags: RegexFlags,
    re: OnceLock<Regex>,
}

impl LazyRegex {
    /// Checks `pattern` under `flags`; the error is the `regex` crate's message.
    pub(crate) fn new(pattern: &str, flags: RegexFlags) -> Result<LazyRegex, String> {
        let re = OnceLock::new();
        match check_regex(pattern, flags, SIZE_LIMIT) {
            Ok(None) => {}
            Ok(Some(compiled)) => {
                let _ = re.set(compiled);
            }
            Err(RegexProblem::Syntax(msg)) => return Err(msg),
            Err(RegexProblem::TooLarge(limit)) => {
                return Err(regex::Error::CompiledTooBig(limit).to_string())
            }
        }
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            flags,
            re,
        })
    }

    /// Whether the regex matches somewhere in `s`. A pattern that fails to compile on first
    /// use matches nothing; only the size limit can make it fail, and
    /// [`crate::ir::check_regex`] compiles every pattern that could come near it at load time.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self.re.get() {
            Some(re) => re.is_match(s),
            None => match build_regex(&self.pattern, self.flags, SIZE_LIMIT) {
                Ok(re) => self.re.get_or_init(|| re).is_match(s),
                Err(_) => false,
            },
        }
    }

    /// Whether the automaton has been built.
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.re.get().is_some()
    }
}

/// "Contains one of these byte strings", with its automaton built on first use.
#[derive(Debug, Clone)]
pub(crate) struct LazyContains {
    needles: Vec<Vec<u8>>,
    ac: OnceLock<Option<AhoCorasick>>,
}

impl LazyContains {
    pub(crate) fn new(needles: Vec<Vec<u8>>) -> LazyContains {
        LazyContains {
            needles,
            ac: OnceLock::new(),
        }
    }

    /// Whether `s` contains one of the needles.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let ac = self.ac.get_or_init(|| {
            // A compact NFA: string sets run only on candidate events, and a DFA per set
            // would cost far more memory across a catalog.
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&self.needles)
                .ok()
        });
        match ac {
            Some(ac) => ac.is_match(s),
            // Too many states for one automaton: one search per needle, same answer.
            None => self
                .needles
                .iter()
                .any(|n| memmem::find(s.as_bytes(), n).is_some()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_built_on_first_use_and_agrees() {
        let flags = RegexFlags {
            ignore_case: true,
            ..RegexFlags::default()
        };
        let lazy = LazyRegex::new(r"^c:\\windows\\.*\.exe$", flags).unwrap();
        assert!(!lazy.is_built());
        assert!(lazy.is_match(r"C:\Windows\cmd.EXE"));
        assert!(lazy.is_built());
        assert!(!lazy.is_match(r"D:\Windows\cmd.exe"));
        // Heavy patterns are compiled (and their size checked) at once.
        assert!(LazyRegex::new(r"\w{300}", flags).unwrap().is_built());
        assert!(LazyRegex::new(r"\w{100000}", flags)
            .unwrap_err()
            .contains("size limit"));
        assert!(LazyRegex::new("a(", flags)
            .unwrap_err()
            .starts_with("regex parse error"));
    }

    #[test]
    fn contains_set() {
        let set = LazyContains::new(vec![b"whoami".to_vec(), b"net user".to_vec()]);
        assert!(set.is_match("cmd /c whoami /all"));
        assert!(set.is_match("net user x"));
        assert!(!set.is_match("net  user"));
        assert!(!set.is_match(""));
    }
}

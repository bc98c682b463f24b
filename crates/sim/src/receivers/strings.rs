//! A string interner for millions of short strings: every string's bytes once in one arena,
//! a dense `u32` id per string, found through a map from its 64-bit hash to the newest id of
//! that hash (older ones of the same hash, a rare collision, are chained). About 16 bytes per
//! string besides its text, where a `HashMap<Box<str>, _>` costs a pointer, an allocation and
//! its header.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

const NONE: u32 = u32::MAX;

#[derive(Default)]
pub struct Strings {
    arena: String,
    /// Per id: where its text starts in the arena (it ends where the next one starts).
    starts: Vec<u64>,
    /// Per id: the previous id with the same hash, or `NONE`.
    chain: Vec<u32>,
    heads: HashMap<u64, u32>,
    hasher: RandomState,
}

impl Strings {
    /// The text of `id` (empty for an unknown id).
    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        let (Some(&start), end) = (
            self.starts.get(i),
            self.starts
                .get(i + 1)
                .copied()
                .unwrap_or(self.arena.len() as u64),
        ) else {
            return "";
        };
        self.arena.get(start as usize..end as usize).unwrap_or("")
    }

    /// The id of `s`, if interned.
    pub fn find(&self, s: &str) -> Option<u32> {
        let mut id = *self.heads.get(&self.hasher.hash_one(s))?;
        while id != NONE {
            if self.get(id) == s {
                return Some(id);
            }
            id = self.chain.get(id as usize).copied().unwrap_or(NONE);
        }
        None
    }

    /// The id of `s`, interning it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.find(s) {
            return id;
        }
        let id = u32::try_from(self.starts.len()).unwrap_or(NONE - 1);
        let hash = self.hasher.hash_one(s);
        let previous = self.heads.insert(hash, id).unwrap_or(NONE);
        self.starts.push(self.arena.len() as u64);
        self.chain.push(previous);
        self.arena.push_str(s);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_dense_stable_ids() {
        let mut s = Strings::default();
        assert_eq!(s.intern("a"), 0);
        assert_eq!(s.intern(""), 1);
        assert_eq!(s.intern("bc"), 2);
        assert_eq!(s.intern("a"), 0);
        assert_eq!(
            (s.get(0), s.get(1), s.get(2), s.get(9)),
            ("a", "", "bc", "")
        );
        assert_eq!(s.find("bc"), Some(2));
        assert_eq!(s.find("b"), None);
        assert_eq!(s.starts.len(), 3);
        for i in 0..10_000 {
            let text = format!("msg_{i}");
            let id = s.intern(&text);
            assert_eq!(s.get(id), text);
        }
        assert_eq!(s.find("msg_77").map(|id| s.get(id)), Some("msg_77"));
    }

    #[test]
    fn colliding_hashes_are_chained() {
        // Force every string onto one hash by chaining by hand: the same walk `find` does.
        let mut s = Strings::default();
        let a = s.intern("x");
        let b = s.intern("y");
        let hash = s.hasher.hash_one("x");
        s.heads.insert(hash, b);
        s.chain[b as usize] = a;
        assert_eq!(s.find("x"), Some(a));
        assert_eq!(s.find("y"), Some(b));
    }
}

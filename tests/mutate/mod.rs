//! Random edits of rule texts for property tests, shared by `tests/fuzz_front.rs` and the fast
//! YAML reader's unit tests (`src/sigma/yaml/tests.rs`), which include this file with
//! `#[path]`.

use proptest::prelude::*;

/// One edit: where (an index into the text, one past its end included), what (0 deletes,
/// 1 inserts, 2 replaces; at the end, a replacement appends) and the character.
pub type Edit = (prop::sample::Index, u8, char);

/// One to five edits with characters from `chars`.
pub fn edits(chars: Vec<char>) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            0u8..3,
            prop::sample::select(chars),
        ),
        1..6,
    )
}

/// `text` with `edits` applied in turn.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text: Vec<char> = text.chars().collect();
    for &(at, op, c) in edits {
        let i = at.index(text.len() + 1);
        match op {
            0 if i < text.len() => {
                text.remove(i);
            }
            1 => text.insert(i, c),
            _ if i < text.len() => text[i] = c,
            _ => text.push(c),
        }
    }
    text.into_iter().collect()
}

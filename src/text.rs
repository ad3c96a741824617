//! `CText`: an immutable string stored with a trailing NUL, so the C ABI can hand out a
//! pointer that is both a `(ptr, len)` pair and a C string, without copying.

use std::fmt;
use std::ops::Deref;

/// An immutable UTF-8 string whose buffer ends with one extra NUL byte.
///
/// `as_str()` (and `Deref`) give the text without the NUL; `as_c_ptr()` points at a buffer
/// that is NUL-terminated. The text itself may contain NUL bytes (Go strings can); C readers
/// should use the length.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CText(Box<str>);

impl CText {
    /// Copies `s` and appends the terminating NUL.
    pub fn new(s: &str) -> Self {
        let mut buf = String::with_capacity(s.len() + 1);
        buf.push_str(s);
        buf.push('\0');
        CText(buf.into_boxed_str())
    }

    /// The empty string.
    pub fn empty() -> Self {
        CText::new("")
    }

    /// The text, without the trailing NUL.
    pub fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// A pointer to the NUL-terminated buffer; valid as long as `self` is.
    pub fn as_c_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }

    /// Bytes allocated on the heap for this text.
    pub fn heap_bytes(&self) -> usize {
        self.0.len()
    }

    /// The buffer's first byte (always there: the NUL at least), read only to bring its cache
    /// line in before the text is freed (see `Route::warm_for_drop`).
    pub(crate) fn first_byte(&self) -> u8 {
        self.0.as_bytes().first().copied().unwrap_or(0)
    }
}

impl Default for CText {
    fn default() -> Self {
        CText::empty()
    }
}

impl Deref for CText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for CText {
    fn from(s: &str) -> Self {
        CText::new(s)
    }
}

impl From<String> for CText {
    fn from(mut s: String) -> Self {
        s.push('\0');
        CText(s.into_boxed_str())
    }
}

impl fmt::Debug for CText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for CText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_nul_terminated_and_len_excludes_nul() {
        let t = CText::new("abc");
        assert_eq!(t.as_str(), "abc");
        assert_eq!(t.len(), 3);
        let bytes = unsafe_free_read(&t);
        assert_eq!(bytes, b"abc\0");
    }

    fn unsafe_free_read(t: &CText) -> &[u8] {
        t.0.as_bytes()
    }

    #[test]
    fn empty_text_is_a_single_nul() {
        let t = CText::empty();
        assert_eq!(t.as_str(), "");
        assert_eq!(t.0.as_bytes(), b"\0");
    }

    #[test]
    fn from_string_appends_nul() {
        let t = CText::from(String::from("x"));
        assert_eq!(t.0.as_bytes(), b"x\0");
    }
}

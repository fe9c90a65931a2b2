//! Vendor error bodies in messages: long enough to act on, short enough to read.

/// The most bytes of a vendor's error text (response body, error message) a [`crate::ProviderError`]
/// carries; the rest is cut at a character boundary and marked `…`.
pub const MAX_ERROR_TEXT: usize = 2000;

/// `s` cut to [`MAX_ERROR_TEXT`] bytes (at a character boundary) with `…` appended when cut.
/// Does not trim: callers trim what they read from the wire.
pub fn shorten(s: &str) -> String {
    if s.len() <= MAX_ERROR_TEXT {
        return s.to_string();
    }
    let mut end = MAX_ERROR_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_text_at_a_character_boundary() {
        assert_eq!(shorten(" short "), " short ");
        let exact = "a".repeat(MAX_ERROR_TEXT);
        assert_eq!(shorten(&exact), exact);
        // `é` is two bytes: the cut falls inside the one straddling the limit.
        let long = format!("{}é{}", "a".repeat(MAX_ERROR_TEXT - 1), "b".repeat(10));
        let cut = shorten(&long);
        assert_eq!(cut, format!("{}…", "a".repeat(MAX_ERROR_TEXT - 1)));
    }
}

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

/// `text` with every `http://…` / `https://…` run (up to whitespace, a quote or `<`/`>`) replaced
/// by `f(url)`: vendor answers and target descriptions must not carry a URL's path or query,
/// where webhook and integration secrets live.
pub fn replace_urls(text: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let at = match (lower.find("http://"), lower.find("https://")) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
            .map_or(rest.len(), |e| at + e);
        out.push_str(&f(&rest[at..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `https://hooks.example.com/…`: a URL's scheme and host only (no user, port, path or query).
pub fn url_host_only(url: &str) -> String {
    let (scheme, after) = url.split_once("://").unwrap_or(("https", ""));
    let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    format!("{}://{host}/…", scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_replaced_whole() {
        let t =
            "posted to https://user:pw@hooks.example.com:8443/T0/B1/s3cr3t?k=v, then \"http://x.org/a,b\"";
        assert_eq!(
            replace_urls(t, url_host_only),
            "posted to https://hooks.example.com/… then \"http://x.org/…\""
        );
        assert_eq!(replace_urls("at HTTPS://h/p", |_| "<url>".into()), "at <url>");
        assert_eq!(replace_urls("no url here", |_| unreachable!()), "no url here");
    }

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

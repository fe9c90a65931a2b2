//! "Did you mean" suggestions by edit distance.

/// Levenshtein distance in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a plausible typo (or the name is a clear
/// prefix of it, like `pager` for `pagerduty`).
pub(crate) fn closest<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (name.chars().count() / 3).max(2);
    let lower = name.to_lowercase();
    let prefix_of = |c: &str| {
        let (short, long) = if c.len() < lower.len() { (c, lower.as_str()) } else { (lower.as_str(), c) };
        short.chars().count() >= 3 && long.starts_with(short)
    };
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= limit || prefix_of(&c.to_lowercase()))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` when a candidate is close.
#[cfg(test)]
pub(crate) fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// "`a`, `b`, `c`" for hints that list allowed names.
pub(crate) fn list<'a, I>(names: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    let v: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

/// A hint that suggests the closest name when there is one, and always lists what is allowed.
pub(crate) fn allowed_hint(name: &str, allowed: &[&str], what: &str) -> String {
    let listed = list(allowed.iter().copied());
    match closest(name, allowed.iter().copied()) {
        Some(c) => format!("did you mean `{c}`? allowed {what}: {listed}"),
        None => format!("allowed {what}: {listed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("severty", ["severity", "scope"]), Some("severity".into()));
        assert_eq!(closest("zzz", ["severity", "scope"]), None);
        assert_eq!(did_you_mean("pager", ["pagerduty", "pager2"]).as_deref(), Some("did you mean `pager2`?"));
        assert!(
            allowed_hint("dtabase", &["server", "database"], "kinds").starts_with("did you mean `database`?")
        );
    }
}

//! Renderers: human text, Markdown (pull-request comments) and JSON of the reports the run layer
//! returns, the JSON Schemas of every `--json` output (see [`schema`]), and the one writer to
//! standard output ([`stdout`]), which ends quietly when the reader closes the pipe.
//!
//! May import: the run layer's report types (`run::report`, and `run::Error` for write
//! failures), `plan` and `state`. Never `cli`.

pub mod coverage;
pub mod human;
pub mod markdown;
pub mod routes;
pub mod schema;
pub mod stdout;

pub use crate::run::report::PlanOutput;

/// Where the plan's providers send their requests (issue 15: the keys go there), one line;
/// empty without providers. In Markdown, each URL in a code span after keeping only URL
/// characters, so nothing in it can end the span.
pub fn endpoints_line(endpoints: &std::collections::BTreeMap<String, String>, markdown: bool) -> String {
    if endpoints.is_empty() {
        return String::new();
    }
    let safe = |s: &str| -> String {
        s.chars().filter(|c| c.is_ascii_alphanumeric() || ":/.-_[]".contains(*c)).collect()
    };
    let items: Vec<String> = endpoints
        .iter()
        .map(
            |(name, url)| {
                if markdown {
                    format!("{} `{}`", safe(name), safe(url))
                } else {
                    format!("{name} {url}")
                }
            },
        )
        .collect();
    if markdown {
        format!("\n<sub>Endpoints: {}</sub>\n", items.join(", "))
    } else {
        format!("\nEndpoints: {}\n", items.join(", "))
    }
}

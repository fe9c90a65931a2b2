//! `watchkeep alerts`: the alert log.

use super::{CmdResult, Context, VarArgs, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::alerts::{alerts, AlertsInput};
use crate::run::notes::{note, NoteInput};

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// Record what was done about an alert (a dated, hash-chained resolution note that the
    /// evidence bundle's alert log attaches to the firing it is about).
    Note {
        /// The alert: its address in state (`baseline.soc2["web-1"].cpu`) or its vendor id.
        alert: String,
        /// What was done.
        text: String,
        /// Which firing the note is about (a time or day), when not the latest before now.
        #[arg(long, value_name = "WHEN")]
        about: Option<String>,
        /// Print the note recorded as JSON (schema: schema/alerts-note.schema.json).
        #[arg(long)]
        json: bool,
    },
}

pub fn run_note(ctx: &Context, command: &AlertsCommand) -> CmdResult {
    let AlertsCommand::Note { alert, text, about, json } = command;
    let input = NoteInput { alert: alert.clone(), text: text.clone(), about: about.clone() };
    let out = note(&ctx.ws, &input)?;
    if *json {
        stdout::print_json(&out)?;
    } else {
        stdout::print(&human::note(&out))?;
    }
    Ok(EXIT_OK)
}

pub async fn run(
    ctx: &Context,
    vars: &VarArgs,
    since: Option<&str>,
    targets: &[String],
    json: bool,
    parallelism: usize,
) -> CmdResult {
    let input = AlertsInput {
        vars: vars.to_vars(),
        since: since.map(str::to_string),
        targets: targets.to_vec(),
        parallelism,
    };
    let log = alerts(&ctx.ws, &input).await?;
    if json {
        stdout::print_json(&log)?;
    } else {
        stdout::print(&human::alerts(&log))?;
    }
    Ok(EXIT_OK)
}

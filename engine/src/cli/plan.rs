//! `watchkeep plan`.

use super::{CmdResult, Context, Format, PlanArgs, EXIT_CHANGES, EXIT_OK};
use crate::output::{self, stdout};
use crate::run::{self, plan::PlanInput, timing::Phase};

pub async fn run(ctx: &Context, args: &PlanArgs) -> CmdResult {
    let input = PlanInput {
        vars: args.vars.to_vars(),
        refresh: args.refresh,
        targets: args.targets.clone(),
        destroy: args.destroy,
        parallelism: args.parallelism,
        lock: args.lock,
    };
    let out = run::plan::plan(&ctx.ws, &input).await?;
    let t = Phase::start("render");
    let format = if args.json { Format::Json } else { args.format.unwrap_or(Format::Human) };
    match format {
        Format::Json => stdout::print_json(&out)?,
        Format::Markdown => {
            stdout::print(&output::markdown::plan(&out.plan))?;
            stdout::print(&output::endpoints_line(&out.plan.endpoints, true))?;
        }
        Format::Human => {
            stdout::print(&output::human::plan(&out.plan))?;
            stdout::print(&output::endpoints_line(&out.plan.endpoints, false))?;
        }
    }
    t.done();
    if let Some(path) = &args.out {
        run::plan::save(&out.plan, path)?;
        if format == Format::Human {
            stdout::println(&format!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n    watchkeep apply {}",
                path.display(),
                path.display()
            ))?;
        }
    }
    Ok(if args.detailed_exitcode && out.plan.has_changes() { EXIT_CHANGES } else { EXIT_OK })
}

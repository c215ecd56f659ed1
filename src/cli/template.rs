//! `collate template ID`: writes a blank return template for a department to fill in, or, for an action
//! plan, a blank update listing the measures a department owns.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Locations, exit, parse_period};
use crate::consolidate::DataRow;
use crate::consolidate::PlanStatusRow;
use crate::pack;
use crate::period::{Period, PeriodChoice};
use crate::schema;
use crate::template::ReturnDraft;

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The template id, e.g. psd-quarterly (`collate lint` lists them).
    id: String,
    /// Where to write it (default: ID.xlsx in the current folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// For an action plan: the department whose measures the update lists (required for a plan).
    #[arg(long)]
    department: Option<String>,
    /// The period the template is for. For a return: a quarter such as 2020/21-Q2, or `due`; the template
    /// then comes with the period, and with the year's figures already accepted (default: blank). For an
    /// action plan: its reporting period, as the plan names it (default: the plan's first).
    #[arg(long)]
    period: Option<String>,
}

pub fn template(locations: &Locations, args: &TemplateArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    if let Some(plan) = schemas.plan(&args.id) {
        return plan_update(locations, &schemas, plan, args);
    }
    let Some(template) = schemas.template(&args.id) else {
        let known = schemas.return_ids();
        anyhow::bail!("no template \"{}\" (known: {})", args.id, known.join(", "));
    };
    let period = match &args.period {
        None => None,
        Some(text) => Some(match parse_period(text).map_err(anyhow::Error::msg)? {
            PeriodChoice::Due(period) | PeriodChoice::Named(period) => period,
            PeriodChoice::Latest => anyhow::bail!("name the quarter, such as 2020/21-Q2, or due"),
        }),
    };
    let out = args.out.clone().unwrap_or_else(|| match period {
        Some(period) => PathBuf::from(format!(
            "{} {}.xlsx",
            template.id,
            period.to_string().replace('/', "-")
        )),
        None => PathBuf::from(format!("{}.xlsx", template.id)),
    });
    let draft = match period {
        Some(period) => {
            let consolidated =
                pack::consolidated_for(&schemas, &locations.folders().store, period)?;
            let accepted = DataRow::rows(&consolidated.data)?;
            pack::prefilled(&schemas, template, period, &accepted)
        }
        None => ReturnDraft::new(template, &schemas),
    };
    let bytes = draft.to_bytes().context("cannot lay out the template")?;
    crate::outfile::write_atomically(&out, &bytes)?;
    println!("{}", out.display());
    Ok(exit::ACCEPTED)
}

fn plan_update(
    locations: &Locations,
    schemas: &schema::Schemas,
    plan: &schema::Plan,
    args: &TemplateArgs,
) -> anyhow::Result<u8> {
    let departments: Vec<&str> = schemas
        .departments
        .iter()
        .filter(|d| plan.measures_of(&d.id).next().is_some())
        .map(|d| d.id.as_str())
        .collect();
    let Some(department) = args
        .department
        .as_deref()
        .and_then(|named| schemas.department_named(named))
    else {
        anyhow::bail!(
            "say whose update this is with --department (for {}: {})",
            plan.id,
            departments.join(", ")
        );
    };
    if !departments.contains(&department.id.as_str()) {
        anyhow::bail!("{} owns no measure of {}", department.name, plan.id);
    }
    let period = match &args.period {
        Some(label) => match plan.period(label) {
            Some((_, period)) => period.label.clone(),
            None => {
                let labels: Vec<&str> = plan.periods.iter().map(|p| p.label.as_str()).collect();
                anyhow::bail!(
                    "{} has no period \"{label}\" (it has: {})",
                    plan.id,
                    labels.join(", ")
                );
            }
        },
        None => plan
            .periods
            .first()
            .map(|p| p.label.clone())
            .unwrap_or_default(),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{} {} {}.xlsx", plan.id, department.id, period)));
    let today = Period::most_recently_ended(chrono::Local::now().date_naive());
    let consolidated = pack::consolidated_for(schemas, &locations.folders().store, today)?;
    let statuses = PlanStatusRow::rows(&consolidated.plans.statuses)?;
    let bytes =
        pack::prefilled_update(plan, (&department.id, &department.name), &period, &statuses)
            .guarded(&schemas.dashboard.templates)
            .to_bytes()
            .context("cannot lay out the update")?;
    crate::outfile::write_atomically(&out, &bytes)?;
    println!("{}", out.display());
    Ok(exit::ACCEPTED)
}

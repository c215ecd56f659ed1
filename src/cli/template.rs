//! `collate template ID`: writes a blank return template for a department to fill in.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Locations, exit};
use crate::schema;
use crate::template::ReturnDraft;

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The template id, e.g. psd-quarterly (`collate lint` lists them).
    id: String,
    /// Where to write it (default: ID.xlsx in the current folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn template(locations: &Locations, args: &TemplateArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let Some(template) = schemas.template(&args.id) else {
        let known: Vec<&str> = schemas.templates.iter().map(|t| t.id.as_str()).collect();
        anyhow::bail!("no template \"{}\" (known: {})", args.id, known.join(", "));
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.xlsx", template.id)));
    let bytes = ReturnDraft::new(template, &schemas.catalogue)
        .to_bytes()
        .context("cannot lay out the template")?;
    crate::outfile::write_atomically(&out, &bytes)?;
    println!("{}", out.display());
    Ok(exit::ACCEPTED)
}

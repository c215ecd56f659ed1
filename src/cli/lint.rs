//! `collate lint`: checks the schema files, then points out what they declare but never use.

use super::{Locations, exit};
use crate::schema;

pub fn lint(locations: &Locations) -> anyhow::Result<u8> {
    let dir = locations.schemas();
    let schemas = schema::load(&dir)?;
    println!(
        "{}: {} departments, {} indicators, {} return templates, {} rules: all valid",
        dir.display(),
        schemas.departments.len(),
        schemas.catalogue.indicators.len(),
        schemas.templates.len(),
        schemas.rules.len()
    );
    // The ids `collate template` takes.
    for template in &schemas.templates {
        println!(
            "template {}: {} ({}, version {})",
            template.id, template.title, template.department, template.version
        );
    }
    for plan in &schemas.plans {
        println!(
            "template {}: update to {} (version {}; give --department)",
            plan.id, plan.title, plan.version
        );
    }
    for indicator in &schemas.catalogue.indicators {
        for measure in &indicator.measures {
            if measure.sum_of.is_some() {
                continue;
            }
            if !schemas.collects(&indicator.code, &measure.id) {
                println!(
                    "note: {} {} is collected by no return template",
                    indicator.code, measure.id
                );
            }
        }
    }
    Ok(exit::ACCEPTED)
}

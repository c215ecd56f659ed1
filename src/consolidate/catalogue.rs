//! The schema facts consolidation needs, as frames: the catalogue's measures and derived measures, the
//! quarterly returns expected of each department, the analysis texts each template asks for, the plans.

use polars::prelude::*;

use super::{CatalogueFrames, plan_frames};
use crate::schema::{Schemas, TemplateKind};

pub fn catalogue_frames(schemas: &Schemas) -> PolarsResult<CatalogueFrames> {
    let (measures, derived) = measure_frames(schemas)?;
    let (expected_returns, expected_analysis) = expected_frames(schemas)?;
    Ok(CatalogueFrames {
        measures,
        derived,
        expected_returns,
        expected_analysis,
        plans: plan_frames(schemas)?,
    })
}

/// The measures (indicator, measure, their orders, summable, integrity) and the parts of derived measures.
fn measure_frames(schemas: &Schemas) -> PolarsResult<(DataFrame, DataFrame)> {
    let (
        mut indicator,
        mut measure,
        mut indicator_order,
        mut measure_order,
        mut summable,
        mut integrity,
    ) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut d_indicator, mut d_measure, mut d_part, mut d_order) =
        (vec![], vec![], vec![], vec![]);
    for (i, ind) in schemas.catalogue.indicators.iter().enumerate() {
        for (m, mea) in ind.measures.iter().enumerate() {
            indicator.push(ind.code.clone());
            measure.push(mea.id.clone());
            indicator_order.push(i as i32);
            measure_order.push(m as i32);
            summable.push(mea.summable);
            integrity.push(mea.integrity);
            for (position, part) in mea.sum_of.iter().flatten().enumerate() {
                d_order.push(position as i32);
                d_indicator.push(ind.code.clone());
                d_measure.push(mea.id.clone());
                d_part.push(part.clone());
            }
        }
    }
    Ok((
        df!(
            "indicator" => indicator, "measure" => measure, "indicator_order" => indicator_order,
            "measure_order" => measure_order, "summable" => summable, "integrity" => integrity,
        )?,
        df!(
            "indicator" => d_indicator, "measure" => d_measure, "part" => d_part, "part_order" => d_order,
        )?,
    ))
}

/// The quarterly returns expected every quarter, in the order departments are listed, and the analysis
/// texts each template carries.
fn expected_frames(schemas: &Schemas) -> PolarsResult<(DataFrame, DataFrame)> {
    let (mut e_department, mut e_template, mut a_template, mut a_indicator) =
        (vec![], vec![], vec![], vec![]);
    // Expected returns in the order departments are listed, so the chase list reads the same every time.
    for department in &schemas.departments {
        for template in &schemas.templates {
            if template.kind == TemplateKind::Quarterly && template.department == department.id {
                e_department.push(template.department.clone());
                e_template.push(template.id.clone());
            }
        }
    }
    for template in &schemas.templates {
        for spec in &template.analysis {
            a_template.push(template.id.clone());
            a_indicator.push(spec.indicator.clone());
        }
    }
    Ok((
        df!(
            "department" => e_department.clone(), "template" => e_template,
            "order" => (0..e_department.len() as i32).collect::<Vec<_>>(),
        )?,
        df!("template" => a_template, "indicator" => a_indicator)?,
    ))
}

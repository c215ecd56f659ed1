//! The board paper: the quarter's integrity dashboard as the board reads it, a Word document in the
//! seed's structure (`model` says what it holds, `docx` lays it out, `chart` draws its charts).

mod chart;
mod docx;
mod model;

pub use model::{Edition, LateArrival, PaperStatus, SinceVersion};

use super::RenderError;
use crate::consolidate::Consolidated;
use crate::schema::Schemas;

/// The board paper for the consolidated quarter, as `.docx` bytes: the same bytes for the same store
/// and the same edition.
pub fn board_paper_docx(
    schemas: &Schemas,
    consolidated: &Consolidated,
    edition: &Edition,
) -> Result<Vec<u8>, RenderError> {
    let paper = model::Paper::build(schemas, consolidated, edition)?;
    docx::write(&paper)
}

/// A figure as the paper prints it: whole numbers without decimals, others to two places at most.
pub(super) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

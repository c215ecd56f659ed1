//! Lays the board paper out as a Word document in the seed's order: cover, rationale and Code of
//! Ethics, headline, one section per area, action plans, data owners. A4 portrait; every figure table
//! and chart is kept on one page with the heading above it.

use docx_rs::{
    AlignmentType, Docx, Footer, LineSpacing, PageMargin, Paragraph, Pic, Run, RunFonts, Shading,
    Style, StyleType, Table, TableCell, TableLayoutType, TableRow, WidthType,
};

use super::super::RenderError;
use super::chart::{self, BarChart};
use super::model::{
    ByYear, Cell, Headline, IndicatorPart, Paper, PaperStatus, PlanTracker, StatusRow,
};
use super::number;
use crate::render::figures::Mark;

/// A4 in twentieths of a point, and 2 cm margins: 9,638 twips of text across.
const PAGE: (u32, u32) = (11906, 16838);
const MARGIN: i32 = 1134;
const TEXT_WIDTH: usize = 9638;

/// Colours shared with the dashboard workbook: a flag as Excel's "bad" style, a restatement blue.
const FLAGGED_FILL: &str = "FFC7CE";
const FLAGGED_TEXT: &str = "9C0006";
const RESTATED_FILL: &str = "DDEBF7";
const PARTIAL_FILL: &str = "E7E6E6";
const HEADING_FILL: &str = "D9E1F2";
/// A plan part's heading row.
const PART_FILL: &str = "F2F2F2";

pub(super) fn write(paper: &Paper) -> Result<Vec<u8>, RenderError> {
    PARAGRAPHS.with(|count| count.set(0));
    let mut doc = document(paper);
    doc = cover(doc, paper);
    doc = opening_pages(doc, paper);
    doc = headline_page(doc, paper, &paper.headline);
    let mut pictures = 0;
    let mut drawn = drawn_charts(paper)?.into_iter();
    for section in &paper.sections {
        doc = doc.add_paragraph(heading(1, &section.title).page_break_before(true));
        for (indicator, chart) in section.indicators.iter().zip(drawn.by_ref()) {
            doc = indicator_part(doc, indicator, chart, &mut pictures)?;
        }
    }
    if !paper.plans.is_empty() {
        doc = doc.add_paragraph(heading(1, "Action Plans").page_break_before(true));
        let age = match &paper.plans_as_at {
            Some(end) => format!("Age at {end}"),
            None => "Age".to_owned(),
        };
        for plan in &paper.plans {
            doc = plan_tracker(doc, plan, &age);
        }
    }
    doc = owners_table(doc, paper);
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut xml = doc.build();
    xml.doc_props.core = with_author(&xml.doc_props.core, &paper.properties.author);
    xml.pack(&mut bytes)
        .map_err(|e| RenderError::Document(e.to_string()))?;
    Ok(bytes.into_inner())
}

/// The document's core properties with `author` as its creator and last editor: docx-rs writes
/// "unknown" there and has no setting for it.
fn with_author(core: &[u8], author: &str) -> Vec<u8> {
    let author = quick_xml::escape::escape(author);
    String::from_utf8_lossy(core)
        .replace(
            "<dc:creator>unknown</dc:creator>",
            &format!("<dc:creator>{author}</dc:creator>"),
        )
        .replace(
            "<cp:lastModifiedBy>unknown</cp:lastModifiedBy>",
            &format!("<cp:lastModifiedBy>{author}</cp:lastModifiedBy>"),
        )
        .into_bytes()
}

/// The document's page, fonts, heading styles, footer and fixed properties (the same bytes every time).
fn document(paper: &Paper) -> Docx {
    let footer_text = format!(
        "{} {} {} – {}",
        paper.force,
        paper.title,
        paper.quarter,
        match &paper.status {
            PaperStatus::Draft => "DRAFT".to_owned(),
            PaperStatus::SignedOff { version, .. } => format!("Version {version}.0"),
        }
    );
    let at = &paper.properties.at;
    Docx::new()
        .page_size(PAGE.0, PAGE.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN)
                .bottom(MARGIN)
                .left(MARGIN)
                .right(MARGIN),
        )
        .default_fonts(RunFonts::new().ascii("Arial").hi_ansi("Arial").cs("Arial"))
        .default_size(20)
        .add_style(heading_style("Title", "Title", 44))
        .add_style(heading_style("Heading1", "Heading 1", 32))
        .add_style(heading_style("Heading2", "Heading 2", 24))
        .footer(
            Footer::new().add_paragraph(
                para()
                    .align(AlignmentType::Center)
                    .add_run(Run::new().add_text(footer_text).size(16).color("595959")),
            ),
        )
        .created_at(at)
        .updated_at(at)
}

/// A paragraph in the Normal style, named: a reader (python-docx among them) then knows its style even
/// though docx-rs marks no style as the default.
fn para() -> Paragraph {
    // docx-rs numbers paragraphs from a counter for the whole process; numbered per document instead,
    // the same document is the same bytes however many were made before it.
    let id = PARAGRAPHS.with(|count| {
        count.set(count.get() + 1);
        count.get()
    });
    Paragraph::new().id(format!("{id:08X}")).style("Normal")
}

std::thread_local! {
    /// Paragraphs made so far for the document being written on this thread.
    static PARAGRAPHS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn heading_style(id: &str, name: &str, size: usize) -> Style {
    Style::new(id, StyleType::Paragraph)
        .name(name)
        .based_on("Normal")
        .next("Normal")
        .q_format(true)
        .size(size)
        .bold()
        .color("1F3864")
}

fn heading(level: usize, text: &str) -> Paragraph {
    para()
        .style(&format!("Heading{level}"))
        .outline_lvl(level - 1)
        .keep_next(true)
        .line_spacing(LineSpacing::new().before(240).after(120))
        .add_run(Run::new().add_text(text))
}

fn text(text: &str) -> Paragraph {
    para()
        .line_spacing(LineSpacing::new().after(120))
        .add_run(Run::new().add_text(text))
}

/// A paragraph opening with a bold label: "Rationale: …".
fn labelled(label: &str, said: &str) -> Paragraph {
    para()
        .line_spacing(LineSpacing::new().before(80).after(120))
        .add_run(Run::new().add_text(format!("{label}: ")).bold())
        .add_run(Run::new().add_text(said))
}

fn cover(doc: Docx, paper: &Paper) -> Docx {
    let centred = |run: Run| {
        para()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().after(240))
            .add_run(run)
    };
    let mut doc = doc
        .add_paragraph(para().line_spacing(LineSpacing::new().before(2400)))
        .add_paragraph(centred(
            Run::new()
                .add_text(paper.force.to_uppercase())
                .bold()
                .size(36),
        ));
    if paper.status == PaperStatus::Draft {
        doc = doc.add_paragraph(centred(
            Run::new().add_text("DRAFT").bold().size(56).color("C00000"),
        ));
    }
    let version = match &paper.status {
        PaperStatus::Draft => "Draft – not signed off".to_owned(),
        PaperStatus::SignedOff { version, .. } => format!("Version {version}.0"),
    };
    let quarter = match paper.quarter.quarter {
        Some(q) => format!("Quarter {}", q.number()),
        None => "Whole year".to_owned(),
    };
    doc.add_paragraph(
        para()
            .style("Title")
            .align(AlignmentType::Center)
            .add_run(Run::new().add_text(format!("{} {}", paper.title, paper.quarter.year))),
    )
    .add_paragraph(centred(Run::new().add_text(quarter).bold().size(40)))
    .add_paragraph(centred(Run::new().add_text(version).size(28)))
    .add_paragraph(centred(Run::new().add_text(&paper.dated).size(24)))
}

fn opening_pages(doc: Docx, paper: &Paper) -> Docx {
    let mut doc = doc
        .add_paragraph(heading(1, "Rationale for Integrity Dashboard").page_break_before(true))
        .add_paragraph(text(&paper.rationale));
    if !paper.principles.is_empty() {
        doc = doc.add_paragraph(heading(2, &format!("{}:", paper.principles_title)));
    }
    for (number, principle) in paper.principles.iter().enumerate() {
        doc = doc.add_paragraph(
            para()
                .keep_next(true)
                .line_spacing(LineSpacing::new().before(120).after(60))
                .add_run(
                    Run::new()
                        .add_text(format!("{}. {}", number + 1, principle.title))
                        .bold(),
                ),
        );
        for statement in &principle.statements {
            doc = doc.add_paragraph(text(statement));
        }
    }
    doc
}

fn headline_page(doc: Docx, paper: &Paper, headline: &Headline) -> Docx {
    let mut doc = doc.add_paragraph(
        heading(1, &format!("Headline for {}", paper.quarter)).page_break_before(true),
    );
    if let Some(since) = &headline.since {
        let version = since.version;
        doc = list(
            doc,
            &format!("Changed since version {version}.0"),
            &since.changes,
            "No figure has changed.",
        );
        doc = list(
            doc,
            &format!("Returns that arrived after version {version}.0"),
            &since.late,
            "None.",
        );
    }
    doc = list(doc, "Board flags", &headline.flags, "None.");
    doc = list(doc, "Restated figures", &headline.restated, "None.");
    doc = doc.add_paragraph(heading(2, "Returns received and missing"));
    let widths = [4838, 1600, 1600, 1600];
    let mut rows = vec![header_row(
        &["Department", "Expected", "Received", "Missing"],
        &widths,
    )];
    for returns in &headline.returns {
        let mut cells = vec![cell(&returns.department, widths[0])];
        cells.extend(
            (returns.counts.iter())
                .zip(&widths[1..])
                .map(|(n, w)| number_cell(&number(*n), *w)),
        );
        rows.push(TableRow::new(cells).cant_split());
    }
    doc = doc.add_table(table(rows, &widths));
    if let Some(awaiting) = &headline.awaiting {
        doc = doc.add_paragraph(text(awaiting));
    }
    doc = list(
        doc,
        "Missing returns",
        &headline.missing,
        "None: every return expected has been received.",
    );
    match &headline.not_collected {
        Some(line) => doc.add_paragraph(text(line)),
        None => doc,
    }
}

/// A heading with its count, then each line as a paragraph (or `none`).
fn list(doc: Docx, title: &str, lines: &[String], none: &str) -> Docx {
    let mut doc = doc.add_paragraph(heading(2, &format!("{title}: {}", lines.len())));
    if lines.is_empty() {
        return doc.add_paragraph(text(none));
    }
    for line in lines {
        doc = doc.add_paragraph(text(&format!("• {line}")));
    }
    doc
}

/// Each indicator's chart as a picture (PNG), in the paper's order, drawn side by side: drawing is most of
/// the time the paper takes to make, and the other outputs made beside it have often finished by then.
fn drawn_charts(paper: &Paper) -> Result<Vec<Option<Vec<u8>>>, RenderError> {
    use rayon::prelude::*;
    let indicators: Vec<&IndicatorPart> = paper
        .sections
        .iter()
        .flat_map(|section| &section.indicators)
        .collect();
    indicators
        .par_iter()
        .map(|indicator| {
            let chart = indicator.chart.as_ref().map(chart::bar_chart_png);
            chart.transpose().map_err(RenderError::Document)
        })
        .collect()
}

fn indicator_part(
    doc: Docx,
    indicator: &IndicatorPart,
    chart: Option<Vec<u8>>,
    pictures: &mut usize,
) -> Result<Docx, RenderError> {
    let mut title = Run::new().add_text(format!("{}  {}", indicator.code, indicator.title));
    if indicator.flagged {
        title = title.color(FLAGGED_TEXT);
    }
    let mut doc = doc.add_paragraph(
        para()
            .style("Heading2")
            .outline_lvl(1)
            .keep_next(true)
            .line_spacing(LineSpacing::new().before(360).after(120))
            .add_run(title),
    );
    if let (true, Some(by_year)) = (indicator.collected, &indicator.by_year) {
        doc = doc.add_table(by_year_table(by_year));
    } else if indicator.collected && !indicator.measures.is_empty() {
        doc = doc.add_table(figures_table(indicator));
        if let Some(legend) = legend(indicator) {
            doc = doc.add_paragraph(para().add_run(Run::new().add_text(legend).italic().size(16)));
        }
    }
    for (label, said) in [
        ("Flagged", &indicator.flags),
        ("Restated", &indicator.restated),
    ] {
        for line in said.iter().filter(|l| !l.is_empty()) {
            doc = doc.add_paragraph(labelled(label, line));
        }
    }
    if !indicator.history.is_empty() {
        doc = doc.add_paragraph(labelled("Historical data", &indicator.history.join(". ")));
    }
    if let (Some(chart), Some(png)) = (&indicator.chart, chart) {
        doc = chart_paragraphs(doc, chart, png, pictures);
    }
    Ok(doc
        .add_paragraph(labelled("Rationale", &indicator.rationale))
        .add_paragraph(text(&indicator.analysis)))
}

/// The chart with its title, kept together on one page.
fn chart_paragraphs(doc: Docx, chart: &BarChart, png: Vec<u8>, pictures: &mut usize) -> Docx {
    *pictures += 1;
    // Picture ids are numbered per document (docx-rs would number them per process).
    let picture = Pic::new_with_dimensions(png, chart::WIDTH, chart::HEIGHT)
        .id(format!("rIdImage{pictures}"))
        .size(16 * 360_000, 6 * 360_000);
    doc.add_paragraph(
        para()
            .keep_next(true)
            .line_spacing(LineSpacing::new().before(120))
            .add_run(Run::new().add_text(&chart.title).bold().size(18)),
    )
    .add_paragraph(
        para()
            .keep_lines(true)
            .add_run(Run::new().add_image(picture)),
    )
}

/// The seed's table: measures side by side, two to a row, each with QTR 1–4 and the total.
fn figures_table(indicator: &IndicatorPart) -> Table {
    let width = TEXT_WIDTH / 10;
    let widths = [width; 10];
    let mut rows = Vec::new();
    for pair in indicator.measures.chunks(2) {
        let mut labels = Vec::new();
        let mut headings = Vec::new();
        let mut values = Vec::new();
        for measure in pair {
            labels.push(
                TableCell::new()
                    .grid_span(5)
                    .width(width * 5, WidthType::Dxa)
                    .shading(Shading::new().fill(HEADING_FILL))
                    .add_paragraph(kept(Run::new().add_text(&measure.label).bold().size(17))),
            );
            for name in ["QTR 1", "QTR 2", "QTR 3", "QTR 4", "Total"] {
                headings.push(number_cell_run(
                    Run::new().add_text(name).bold().size(17),
                    width,
                    true,
                ));
            }
            values.extend(measure.cells.iter().map(|c| figure_cell(c, width)));
        }
        if pair.len() == 1 {
            let filler = || {
                TableCell::new()
                    .grid_span(5)
                    .width(width * 5, WidthType::Dxa)
                    .clear_all_border()
            };
            labels.push(filler());
            headings.push(filler());
            values.push(filler());
        }
        rows.push(TableRow::new(labels).cant_split());
        rows.push(TableRow::new(headings).cant_split());
        rows.push(TableRow::new(values).cant_split());
    }
    table(rows, &widths)
}

/// Whole-year measures (a survey's): one row each, a column per year.
fn by_year_table(by_year: &ByYear) -> Table {
    let first = 4638;
    let width = (TEXT_WIDTH - first) / by_year.years.len().max(1);
    let mut widths = vec![first];
    widths.extend(by_year.years.iter().map(|_| width));
    let mut names = vec!["Measure".to_owned()];
    names.extend(by_year.years.iter().map(|y| y.to_string()));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut rows = vec![header_row(&names, &widths)];
    for (label, values) in &by_year.rows {
        let mut cells = vec![cell(label, first)];
        cells.extend(values.iter().map(|v| figure_cell(v, width)));
        rows.push(TableRow::new(cells).cant_split());
    }
    table(rows, &widths)
}

/// What the marks on an indicator's figures mean, when it has any.
fn legend(indicator: &IndicatorPart) -> Option<String> {
    let marks: Vec<Mark> = indicator
        .measures
        .iter()
        .flat_map(|m| m.cells.iter().map(|c| c.mark))
        .collect();
    let mut said = Vec::new();
    if marks.contains(&Mark::Flagged) {
        said.push("red: flagged to the board");
    }
    if marks.contains(&Mark::Restated) {
        said.push("blue: restated since first accepted");
    }
    if marks.contains(&Mark::Partial) {
        said.push("grey italic: a partial total (a quarter is blank, and a blank is not 0)");
    }
    (!said.is_empty()).then(|| format!("Shaded {}.", said.join("; ")))
}

fn figure_cell(figure: &Cell, width: usize) -> TableCell {
    let printed = match (figure.value, figure.mark) {
        (Some(value), _) => number(value),
        (None, Mark::NotApplicable) => "N/A".to_owned(),
        (None, _) => String::new(),
    };
    let mut run = Run::new().add_text(printed).size(18);
    let fill = match figure.mark {
        Mark::Plain | Mark::NotApplicable => None,
        Mark::Flagged => {
            run = run.bold().color(FLAGGED_TEXT);
            Some(FLAGGED_FILL)
        }
        Mark::Restated => {
            run = run.bold().color("1F4E78");
            Some(RESTATED_FILL)
        }
        Mark::Partial => {
            run = run.italic();
            Some(PARTIAL_FILL)
        }
    };
    let cell = number_cell_run(run, width, false);
    match fill {
        Some(fill) => cell.shading(Shading::new().fill(fill)),
        None => cell,
    }
}

/// A paragraph that keeps with the next, so a table is never split from its heading or itself.
fn kept(run: Run) -> Paragraph {
    para().keep_next(true).add_run(run)
}

fn number_cell_run(run: Run, width: usize, keep: bool) -> TableCell {
    TableCell::new().width(width, WidthType::Dxa).add_paragraph(
        para()
            .keep_next(keep)
            .align(AlignmentType::Center)
            .add_run(run),
    )
}

fn number_cell(text: &str, width: usize) -> TableCell {
    number_cell_run(Run::new().add_text(text), width, false)
}

fn cell(text: &str, width: usize) -> TableCell {
    TableCell::new()
        .width(width, WidthType::Dxa)
        .add_paragraph(para().add_run(Run::new().add_text(text)))
}

fn header_row(names: &[&str], widths: &[usize]) -> TableRow {
    TableRow::new(
        names
            .iter()
            .zip(widths)
            .map(|(name, width)| {
                TableCell::new()
                    .width(*width, WidthType::Dxa)
                    .shading(Shading::new().fill(HEADING_FILL))
                    .add_paragraph(kept(Run::new().add_text(*name).bold()))
            })
            .collect(),
    )
    .cant_split()
}

fn table(rows: Vec<TableRow>, widths: &[usize]) -> Table {
    Table::new(rows)
        .set_grid(widths.to_vec())
        .layout(TableLayoutType::Fixed)
        .width(widths.iter().sum(), WidthType::Dxa)
}

fn plan_tracker(doc: Docx, plan: &PlanTracker, age: &str) -> Docx {
    let widths = [700, 4238, 1400, 2000, 1300];
    let mut rows = vec![header_row(
        &["Ref", "Measure", "Status", "Latest update", age],
        &widths,
    )];
    for part in &plan.parts {
        rows.push(part_heading_row(&part.title, widths.iter().sum()));
        rows.extend(part.rows.iter().map(|row| status_row(row, &widths)));
    }
    let meanings: Vec<String> = plan
        .statuses
        .iter()
        .map(|(name, meaning, _)| format!("{name}: {meaning}"))
        .collect();
    doc.add_paragraph(heading(2, &plan.title))
        .add_table(table(rows, &widths))
        .add_paragraph(
            para()
                .line_spacing(LineSpacing::new().before(60).after(120))
                .add_run(Run::new().add_text(meanings.join(". ")).italic().size(16)),
        )
}

/// A plan part's heading, across the tracker.
fn part_heading_row(title: &str, width: usize) -> TableRow {
    let heading = TableCell::new()
        .width(width, WidthType::Dxa)
        .grid_span(5)
        .shading(Shading::new().fill(PART_FILL))
        .add_paragraph(
            para()
                .keep_next(true)
                .add_run(Run::new().add_text(title).bold().size(18)),
        );
    TableRow::new(vec![heading]).cant_split()
}

/// A measure's row of a tracker, its status shaded in the plan's colour for it.
fn status_row(row: &StatusRow, widths: &[usize; 5]) -> TableRow {
    let cells = (row.cells.iter())
        .zip(*widths)
        .enumerate()
        .map(|(col, (said, width))| {
            let cell = cell(said, width);
            match (&row.colour, col) {
                (Some(colour), 2) => cell.shading(Shading::new().fill(colour)),
                _ => cell,
            }
        })
        .collect();
    TableRow::new(cells).cant_split()
}

fn owners_table(doc: Docx, paper: &Paper) -> Docx {
    let widths = [900, 5138, 1800, 1800];
    let mut rows = vec![header_row(
        &["No.", "Indicator", "Owner", "Data Source"],
        &widths,
    )];
    for owner in &paper.owners {
        rows.push(
            TableRow::new(
                owner
                    .iter()
                    .zip(widths)
                    .map(|(said, width)| cell(said, width))
                    .collect(),
            )
            .cant_split(),
        );
    }
    doc.add_paragraph(heading(1, "Data Owners and Sources").page_break_before(true))
        .add_table(table(rows, &widths))
}

//! A workbook's styles cut down to what the reader takes from them for values: the number formats, and
//! which format each cell style uses (how a date is told from a number). Fonts, fills, borders and the
//! rest are dropped before the reader sees them: it would otherwise build a full style for every one,
//! which cost about as much as reading the figures themselves, and nothing of it is used.

use quick_xml::events::{BytesStart, Event};

use super::markup::{raw_attribute, reader};

const HEADER: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// The two lists of `styles.xml` the reader's values depend on, as it reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    NumberFormats,
    CellFormats,
}

impl List {
    fn of(local_name: &[u8]) -> Option<List> {
        match local_name {
            b"numFmts" => Some(List::NumberFormats),
            b"cellXfs" => Some(List::CellFormats),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            List::NumberFormats => "numFmts",
            List::CellFormats => "cellXfs",
        }
    }

    /// The item of the list, and the attributes of it that are kept.
    fn item(self) -> (&'static str, &'static [&'static str]) {
        match self {
            List::NumberFormats => ("numFmt", &["numFmtId", "formatCode"]),
            List::CellFormats => ("xf", &["numFmtId"]),
        }
    }
}

/// `styles` with only its number formats and its cell formats' number format ids, in their order (a cell
/// names its style by position).
pub fn number_formats_only(styles: &[u8]) -> Vec<u8> {
    let mut kept = HEADER.to_vec();
    let mut inside: Option<List> = None;
    let mut events = reader(styles);
    loop {
        match (events.read_event(), inside) {
            (Ok(Event::Start(tag)), None) => {
                inside = List::of(tag.local_name().as_ref());
                if let Some(list) = inside {
                    open(&mut kept, list.name());
                }
            }
            (Ok(Event::End(tag)), Some(list))
                if tag.local_name().as_ref() == list.name().as_bytes() =>
            {
                close(&mut kept, list.name());
                inside = None;
            }
            (Ok(Event::Start(tag) | Event::Empty(tag)), Some(list)) => {
                keep_item(&mut kept, &tag, list)
            }
            (Ok(Event::Eof) | Err(_), _) => break,
            _ => {}
        }
    }
    if let Some(list) = inside {
        close(&mut kept, list.name());
    }
    kept.extend_from_slice(b"</styleSheet>");
    kept
}

fn open(kept: &mut Vec<u8>, name: &str) {
    kept.push(b'<');
    kept.extend_from_slice(name.as_bytes());
    kept.push(b'>');
}

fn close(kept: &mut Vec<u8>, name: &str) {
    kept.extend_from_slice(b"</");
    kept.extend_from_slice(name.as_bytes());
    kept.push(b'>');
}

/// Writes an item of `list` as an empty element with the attributes the reader uses, their values as
/// they were (entities and all).
fn keep_item(kept: &mut Vec<u8>, tag: &BytesStart<'_>, list: List) {
    let (item, attributes) = list.item();
    if tag.local_name().as_ref() != item.as_bytes() {
        return;
    }
    kept.push(b'<');
    kept.extend_from_slice(item.as_bytes());
    for &name in attributes {
        let Some(value) = raw_attribute(tag, name) else {
            continue;
        };
        // A value held in single quotes may hold a double quote (a format such as '"£"#,##0').
        let quote = if value.contains('"') { b'\'' } else { b'"' };
        kept.push(b' ');
        kept.extend_from_slice(name.as_bytes());
        kept.extend_from_slice(&[b'=', quote]);
        kept.extend_from_slice(value.as_bytes());
        kept.push(quote);
    }
    kept.extend_from_slice(b"/>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_and_each_styles_format_are_kept_in_order_and_nothing_else() {
        let styles = r##"<?xml version="1.0"?>
<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<x:numFmts count="2"><x:numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><x:numFmt numFmtId='165' formatCode='"£"#,##0'/></x:numFmts>
<x:fonts count="1"><x:font><x:b/><x:sz val="11"/></x:font></x:fonts>
<x:cellStyleXfs count="1"><x:xf numFmtId="0" fontId="0"/></x:cellStyleXfs>
<x:cellXfs count="3"><x:xf numFmtId="0" fontId="0" applyFont="1"><x:alignment wrapText="1"/></x:xf><x:xf fontId="0"/><x:xf numFmtId="164" fontId="0"/></x:cellXfs>
<x:dxfs count="1"><x:dxf><x:numFmt numFmtId="166" formatCode="0.0"/></x:dxf></x:dxfs>
</x:styleSheet>"##;
        let kept = String::from_utf8(number_formats_only(styles.as_bytes())).expect("utf-8");
        let body = kept.split_once("main\">").map(|(_, body)| body);
        assert_eq!(
            body,
            Some(
                r##"<numFmts><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode='"£"#,##0'/></numFmts><cellXfs><xf numFmtId="0"/><xf/><xf numFmtId="164"/></cellXfs></styleSheet>"##
            )
        );
    }

    /// What calamine reads from every sheet of an xlsx: each cell's value, dates told from numbers.
    fn values(xlsx: Vec<u8>) -> Vec<Vec<calamine::Data>> {
        use calamine::Reader;
        let mut workbook: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("opens");
        let names = workbook.sheet_names();
        names
            .iter()
            .map(|name| {
                let range = workbook.worksheet_range(name).expect("sheet");
                range
                    .used_cells()
                    .map(|(_, _, value)| value.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_reader_reads_the_same_values_from_the_cut_down_styles() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        let date = ExcelDateTime::from_ymd(2020, 9, 30).expect("date");
        let styled = |format: &str| Format::new().set_num_format(format).set_bold();
        sheet
            .write_datetime_with_format(0, 0, &date, &styled("dd/mm/yyyy"))
            .and_then(|s| s.write_datetime_with_format(1, 0, &date, &styled("hh:mm")))
            .and_then(|s| s.write_number_with_format(2, 0, 0.25, &styled("0%")))
            .and_then(|s| s.write_number_with_format(3, 0, 1234.5, &styled("\"£\"#,##0.00")))
            .and_then(|s| s.write_number(4, 0, 44000))
            .and_then(|s| s.write_string_with_format(5, 0, "PSD", &Format::new().set_italic()))
            .expect("written");
        let xlsx = workbook.save_to_buffer().expect("saved");
        let inspected = super::super::inspect(
            xlsx.clone(),
            crate::read::Format::Xlsx,
            &crate::schema::ReadLimits::default(),
        )
        .expect("inspected");
        let direct = values(xlsx);
        assert!(
            matches!(direct[0][0], calamine::Data::DateTime(_)),
            "{direct:?}"
        );
        assert_eq!(values(inspected), direct);
    }
}

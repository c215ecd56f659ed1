//! How the inspection reads a part's XML: quick-xml 0.41 (the version docx-rs brings, built already),
//! configured as calamine configures its own quick-xml (0.42), so that a part is seen as the reader will
//! see it and nothing is built from it.
//!
//! It replaced a tag scanner of our own (memchr over the bytes). quick-xml 0.42, calamine's version,
//! checks that every event is UTF-8, which 0.41 leaves to whoever decodes it: on 0.41, with names matched
//! as bytes, the scan of 1,000 generated returns takes 18 % fewer instructions (docs/performance.md).
//! Text that is not UTF-8 ends the scan where calamine's reader stops; a tag that is not UTF-8 stops
//! calamine's reader but not the scan, which so sees at least what calamine reads.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::BytesStart;

/// A reader of one part's events, borrowing from it. As in calamine, end tags need not match their start
/// and text is kept as it is. The reader stops at the first error, and so does the scan: what follows an
/// error is never read by calamine either.
pub fn reader(content: &[u8]) -> Reader<&[u8]> {
    let mut reader = Reader::from_reader(content);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    reader
}

/// `read` applied to the value of the attribute named exactly `name` (prefix included), as written in the
/// part (entities and all); `None` if there is no such attribute.
pub fn attribute<T>(
    element: &BytesStart<'_>,
    name: &str,
    read: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    read(&raw_attribute(element, name)?)
}

/// The value of the first attribute named exactly `name`, as written; attributes end at anything
/// malformed. Duplicates are not looked for: every cell of every sheet comes through here.
pub fn raw_attribute<'e>(element: &'e BytesStart<'_>, name: &str) -> Option<Cow<'e, str>> {
    element
        .attributes()
        .with_checks(false)
        .map_while(Result::ok)
        .find(|attribute| attribute.key.as_ref() == name.as_bytes())
        .and_then(|attribute| text_of(attribute.value))
}

/// A value as text; nothing when it is not UTF-8.
pub fn text_of(value: Cow<'_, [u8]>) -> Option<Cow<'_, str>> {
    match value {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    fn first_element(xml: &[u8]) -> BytesStart<'_> {
        let mut reader = reader(xml);
        loop {
            match reader.read_event() {
                Ok(Event::Start(element) | Event::Empty(element)) => return element,
                Ok(Event::Eof) | Err(_) => panic!("no element in {xml:?}"),
                Ok(_) => {}
            }
        }
    }

    #[test]
    fn an_attribute_is_found_by_its_whole_name_whatever_the_spacing_and_quotes() {
        let tag =
            first_element(br#"<numFmt uniqueCount="5"  count = '3' formatCode='"$"0' x:r="B2"/>"#);
        let text = |name| attribute(&tag, name, |value| Some(value.to_owned()));
        assert_eq!(text("count").as_deref(), Some("3"));
        assert_eq!(text("formatCode").as_deref(), Some(r#""$"0"#));
        assert_eq!(text("r"), None);
        assert_eq!(text("x:r").as_deref(), Some("B2"));
        assert_eq!(text("Count"), None);
    }

    #[test]
    fn a_value_keeps_its_entities() {
        let tag = first_element(br#"<c r="A&amp;1"/>"#);
        assert_eq!(raw_attribute(&tag, "r").as_deref(), Some("A&amp;1"));
    }

    #[test]
    fn a_value_that_is_not_utf8_is_no_value() {
        let tag = first_element(b"<c r=\"\xff1\" t=\"s\"/>");
        assert_eq!(raw_attribute(&tag, "r"), None);
        assert_eq!(raw_attribute(&tag, "t").as_deref(), Some("s"));
    }

    #[test]
    fn end_tags_need_not_match_as_for_the_reader() {
        let mut reader = reader(b"<a><b></a></b>");
        let mut ends = 0;
        loop {
            match reader.read_event() {
                Ok(Event::End(_)) => ends += 1,
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(ends, 2);
    }
}

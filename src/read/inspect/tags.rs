//! A minimal XML tag scanner for inspection: start, empty and end tags and the text between them, found
//! with memchr and nothing built. It is not a validating parser, and need not be: anything it misreads,
//! the worker's limits still contain.

use memchr::{memchr, memchr3, memmem};

/// One piece of a part: a tag, or the text between tags (CDATA included).
#[derive(Debug, PartialEq, Eq)]
pub enum Token<'a> {
    Start(Tag<'a>),
    Empty(Tag<'a>),
    End(&'a [u8]),
    Text(&'a [u8]),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    pub name: &'a [u8],
    attributes: &'a [u8],
}

/// A name without its namespace prefix.
pub fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

impl<'a> Tag<'a> {
    pub fn local_name(&self) -> &'a [u8] {
        local(self.name)
    }

    /// The value of the attribute named exactly `name` (prefix included), unescaped entities and all.
    pub fn attribute(&self, name: &str) -> Option<&'a [u8]> {
        self.attributes()
            .find(|(candidate, _)| *candidate == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// The attributes in order, as (name, value); they end at anything malformed.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: self.attributes,
        }
    }
}

/// The `name="value"` pairs of a tag, read one after the other (every cell of every sheet has some, so
/// nothing is searched for twice).
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = trim_start(self.rest);
        let name_end = rest
            .iter()
            .position(|&b| b == b'=' || b.is_ascii_whitespace())?;
        let (name, after) = rest.split_at(name_end);
        let after = trim_start(trim_start(after).strip_prefix(b"=")?);
        let (&quote, quoted) = after.split_first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = memchr(quote, quoted)?;
        self.rest = &quoted[end + 1..];
        Some((name, &quoted[..end]))
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// The tokens of a part, in order; it stops at anything cut short.
pub struct Tags<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Tags<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Tags { bytes, at: 0 }
    }

    /// Skips past `end`, searched for from `from`; false if it never comes.
    fn skip_past(&mut self, from: usize, end: &[u8]) -> bool {
        match memmem::find(&self.bytes[from..], end) {
            Some(found) => {
                self.at = from + found + end.len();
                true
            }
            None => false,
        }
    }

    /// Where the tag opened at `self.at` closes: the first `>` outside quotes.
    fn tag_end(&self) -> Option<usize> {
        let mut at = self.at + 1;
        loop {
            let found = at + memchr3(b'>', b'"', b'\'', &self.bytes[at..])?;
            match self.bytes[found] {
                b'>' => return Some(found),
                quote => at = found + 1 + memchr(quote, &self.bytes[found + 1..])? + 1,
            }
        }
    }
}

impl<'a> Iterator for Tags<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let bytes = self.bytes;
            if self.at >= bytes.len() {
                return None;
            }
            if bytes[self.at] != b'<' {
                let end = memchr(b'<', &bytes[self.at..]).map_or(bytes.len(), |i| self.at + i);
                let text = &bytes[self.at..end];
                self.at = end;
                return Some(Token::Text(text));
            }
            let rest = &bytes[self.at..];
            if rest.starts_with(b"<![CDATA[") {
                let start = self.at + 9;
                let end = start + memmem::find(&bytes[start..], b"]]>")?;
                self.at = end + 3;
                return Some(Token::Text(&bytes[start..end]));
            }
            let skipped = match rest.get(1) {
                Some(b'?') => self.skip_past(self.at, b"?>"),
                Some(b'!') if rest.starts_with(b"<!--") => self.skip_past(self.at, b"-->"),
                Some(b'!') => self.skip_past(self.at, b">"),
                _ => false,
            };
            if skipped {
                continue;
            }
            if matches!(rest.get(1), Some(b'?' | b'!')) {
                return None;
            }
            let end = self.tag_end()?;
            let inside = &bytes[self.at + 1..end];
            self.at = end + 1;
            if let Some(name) = inside.strip_prefix(b"/") {
                return Some(Token::End(name.trim_ascii()));
            }
            let (inside, empty) = match inside.strip_suffix(b"/") {
                Some(inside) => (inside, true),
                None => (inside, false),
            };
            let name_end = inside
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(inside.len());
            let tag = Tag {
                name: &inside[..name_end],
                attributes: &inside[name_end..],
            };
            return Some(if empty {
                Token::Empty(tag)
            } else {
                Token::Start(tag)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_attributes_and_text_are_found_as_a_parser_would() {
        let xml = br#"<?xml version="1.0"?><!-- a > comment --><sst count="3" x:uniqueCount='2'><si><t>a &amp; b</t></si><si/><c r="A1" t="s" note="1 > 0"><v>12</v></c><![CDATA[<raw>]]></sst>"#;
        let tokens: Vec<Token<'_>> = Tags::new(xml).collect();
        let Token::Start(sst) = &tokens[0] else {
            panic!("{tokens:?}")
        };
        assert_eq!(sst.name, b"sst");
        assert_eq!(sst.attribute("count"), Some(&b"3"[..]));
        assert_eq!(sst.attribute("x:uniqueCount"), Some(&b"2"[..]));
        assert_eq!(sst.attribute("Count"), None);
        assert_eq!(tokens[3], Token::Text(b"a &amp; b"));
        assert!(matches!(&tokens[6], Token::Empty(tag) if tag.name == b"si"));
        let Token::Start(cell) = &tokens[7] else {
            panic!("{tokens:?}")
        };
        assert_eq!(cell.attribute("r"), Some(&b"A1"[..]));
        assert_eq!(cell.attribute("t"), Some(&b"s"[..]));
        assert_eq!(tokens[9], Token::Text(b"12"));
        assert_eq!(tokens[12], Token::Text(b"<raw>"));
        assert_eq!(tokens[13], Token::End(b"sst"));
    }

    #[test]
    fn an_attribute_is_found_by_its_whole_name_whatever_the_spacing_and_quotes() {
        let tokens: Vec<Token<'_>> =
            Tags::new(br#"<numFmt uniqueCount="5"  count = '3' formatCode='"$"0' x:r="B2"/>"#)
                .collect();
        let Token::Empty(tag) = &tokens[0] else {
            panic!("{tokens:?}")
        };
        assert_eq!(tag.attribute("count"), Some(&b"3"[..]));
        assert_eq!(tag.attribute("formatCode"), Some(&br#""$"0"#[..]));
        assert_eq!(tag.attribute("r"), None);
        assert_eq!(tag.attribute("x:r"), Some(&b"B2"[..]));
        assert_eq!(tag.attributes().count(), 4);
    }

    #[test]
    fn a_part_cut_short_ends_the_tokens() {
        assert_eq!(Tags::new(b"<a><b attr=\"x").count(), 1);
    }
}

//! Makes the Outlook fixtures in `tests/fixtures/emails/outlook/` from messages Outlook saved (in the same
//! folder): `PSD return from Outlook.msg`, with its first attachment replaced by the sample PSD Q2 return,
//! and `PSD return forwarded as an item.msg`, whose attached message (forwarded as an item) is given that
//! attachment. No program here can write an Outlook message from scratch; this changes only attachment
//! streams in the compound files Outlook wrote, so everything else stays as Outlook made it.
//!
//! Run: cargo run --example make_msg_fixture

// A harness: a failed expectation is the test failing, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;

const FOLDER: &str = "tests/fixtures/emails/outlook";
const ATTACHMENT: &str = "/__attach_version1.0_#00000000";

/// A MAPI string property's stream: UTF-16LE, as Outlook writes PT_UNICODE (001F) properties.
fn unicode(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| unit.to_le_bytes())
        .collect()
}

/// The streams of an attachment that carries `name` with `bytes`.
fn workbook_streams(name: &str, bytes: Vec<u8>) -> [(&'static str, Vec<u8>); 6] {
    [
        ("__substg1.0_37010102", bytes),
        ("__substg1.0_3707001F", unicode(name)),
        ("__substg1.0_3704001F", unicode("2020-2~1.XLS")),
        ("__substg1.0_3001001F", unicode(name)),
        ("__substg1.0_3703001F", unicode(".xlsx")),
        (
            "__substg1.0_370E001F",
            unicode("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ]
}

/// Writes `streams` into the storage at `storage`, replacing any of the same name.
fn put_streams(
    message: &mut cfb::CompoundFile<std::fs::File>,
    storage: &str,
    streams: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    if !message.exists(storage) {
        message.create_storage(storage)?;
    }
    for (stream, bytes) in streams {
        let path = format!("{storage}/{stream}");
        if message.exists(&path) {
            message.remove_stream(&path)?;
        }
        message.create_stream(&path)?.write_all(&bytes)?;
    }
    Ok(())
}

/// Every stream of an attachment storage of an Outlook message, by name.
fn attachment_streams(source: &str, storage: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut message = cfb::open(source)?;
    let names: Vec<String> = message
        .read_storage(storage)?
        .filter(|entry| entry.is_stream())
        .map(|entry| entry.name().to_owned())
        .collect();
    let mut streams = Vec::new();
    for name in names {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut message.open_stream(format!("{storage}/{name}"))?,
            &mut bytes,
        )?;
        streams.push((name, bytes));
    }
    Ok(streams)
}

fn main() -> anyhow::Result<()> {
    let name = "2020-21 Q2 PSD return.xlsx";
    let workbook = std::fs::read(format!("inbox/{name}"))?;
    let replaced = |streams: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        let new = workbook_streams(name, workbook.clone());
        let mut streams: Vec<(String, Vec<u8>)> = streams
            .into_iter()
            .filter(|(stream, _)| !new.iter().any(|(n, _)| n == stream))
            .collect();
        streams.extend(new.into_iter().map(|(n, b)| (n.to_owned(), b)));
        streams
    };
    let original = format!("{FOLDER}/from Outlook, no return.msg");
    let attachment = replaced(attachment_streams(&original, ATTACHMENT)?);

    let target = format!("{FOLDER}/PSD return from Outlook.msg");
    std::fs::copy(&original, &target)?;
    let mut message = cfb::open_rw(&target)?;
    put_streams(&mut message, ATTACHMENT, attachment.clone())?;
    message.flush()?;
    println!("{target}");

    let forwarded = format!("{FOLDER}/PSD return forwarded as an item.msg");
    std::fs::copy(
        format!("{FOLDER}/from Outlook, a message forwarded as an item.msg"),
        &forwarded,
    )?;
    let mut message = cfb::open_rw(&forwarded)?;
    let inner = format!("{ATTACHMENT}/__substg1.0_3701000D{ATTACHMENT}");
    put_streams(&mut message, &inner, attachment)?;
    message.flush()?;
    println!("{forwarded}");
    Ok(())
}

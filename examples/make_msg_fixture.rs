//! Makes `tests/fixtures/emails/outlook/PSD return from Outlook.msg`: the message Outlook saved (in the same
//! folder) with its first attachment replaced by the sample PSD Q2 return. No program here can write an
//! Outlook message from scratch; this changes only the attachment's streams in the compound file Outlook
//! wrote, so everything else stays as Outlook made it.
//!
//! Run: cargo run --example make_msg_fixture

use std::io::Write;

const FOLDER: &str = "tests/fixtures/emails/outlook";
const ATTACHMENT: &str = "/__attach_version1.0_#00000000";

/// A MAPI string property's stream: UTF-16LE, as Outlook writes PT_UNICODE (001F) properties.
fn unicode(text: &str) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| unit.to_le_bytes())
        .collect()
}

fn main() -> anyhow::Result<()> {
    let name = "2020-21 Q2 PSD return.xlsx";
    let workbook = std::fs::read(format!("inbox/{name}"))?;
    let target = format!("{FOLDER}/PSD return from Outlook.msg");
    std::fs::copy(format!("{FOLDER}/from Outlook, no return.msg"), &target)?;
    let mut message = cfb::open_rw(&target)?;
    let streams: [(&str, Vec<u8>); 6] = [
        ("__substg1.0_37010102", workbook),
        ("__substg1.0_3707001F", unicode(name)),
        ("__substg1.0_3704001F", unicode("2020-2~1.XLS")),
        ("__substg1.0_3001001F", unicode(name)),
        ("__substg1.0_3703001F", unicode(".xlsx")),
        (
            "__substg1.0_370E001F",
            unicode("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
    ];
    for (stream, bytes) in streams {
        let path = format!("{ATTACHMENT}/{stream}");
        if message.exists(&path) {
            message.remove_stream(&path)?;
        }
        message.create_stream(&path)?.write_all(&bytes)?;
    }
    message.flush()?;
    println!("{target}");
    Ok(())
}

//! What passes between the collating process and a worker: length-prefixed frames (no claimed length
//! trusted with an allocation), a tagged request, and the answers in postcard's binary form.

use std::io::{BufReader, Read, Write};
use std::process::ChildStdout;

use crate::read::message::{Attachment, MessageProvenance, Unpacked};
use crate::validate::Validated;

/// What a worker says once its schemas are loaded and it is ready for returns.
pub(super) const READY: u8 = b'R';

/// Why no answer came from a worker.
#[derive(Debug)]
pub(super) enum Fault {
    /// It did not say it was ready; what it said instead.
    NotReady(String),
    /// Its pipes closed: it stopped.
    Closed,
    /// It claimed an answer longer than any answer can be.
    TooLong(u64),
    /// Its answer could not be decoded.
    Garbled,
}

/// What a worker is asked to do with the bytes that follow: validate a workbook, validate several small
/// ones in turn (answered each in its own frame, in the order given), or open a saved email.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) enum Request {
    Validate { file: String },
    ValidateEach { files: Vec<String> },
    Unpack { file: String },
}

impl Request {
    /// How many files' bytes follow the request, a frame each.
    fn files(&self) -> usize {
        match self {
            Request::Validate { .. } | Request::Unpack { .. } => 1,
            Request::ValidateEach { files } => files.len(),
        }
    }
}

/// The longest request header (the file's name, tagged): a name is bounded long before this.
const LARGEST_HEADER: u64 = 64 * 1024;

/// Sends a request: its tagged header, then each file's bytes, a frame each.
pub(super) fn send(
    requests: &mut impl Write,
    request: &Request,
    files: &[&[u8]],
) -> std::io::Result<()> {
    let header = postcard::to_allocvec(request).map_err(std::io::Error::other)?;
    write_frame(requests, &header)?;
    for bytes in files {
        write_frame(requests, bytes)?;
    }
    requests.flush()
}

/// The next request and its files' bytes (no file longer than `largest`); `None` once the collating
/// process has closed the pipe.
pub(super) fn read_request(
    requests: &mut impl Read,
    largest: u64,
) -> std::io::Result<Option<(Request, Vec<Vec<u8>>)>> {
    let header = match read_frame(requests, LARGEST_HEADER) {
        Ok(header) => header,
        Err(Fault::Closed) => return Ok(None),
        Err(fault) => return Err(std::io::Error::other(format!("{fault:?}"))),
    };
    let request: Request = postcard::from_bytes(&header).map_err(std::io::Error::other)?;
    let files = (0..request.files())
        .map(|_| {
            read_frame(requests, largest)
                .map_err(|fault| std::io::Error::other(format!("{fault:?}")))
        })
        .collect::<std::io::Result<_>>()?;
    Ok(Some((request, files)))
}

pub(super) fn read_reply(
    replies: &mut BufReader<ChildStdout>,
    largest: u64,
) -> Result<Validated, Fault> {
    postcard::from_bytes(&read_frame(replies, largest)?).map_err(|_| Fault::Garbled)
}

/// One length-prefixed frame, refused when it claims more than `largest` bytes: the length is not
/// trusted with an allocation.
pub(super) fn read_frame(from: &mut impl Read, largest: u64) -> Result<Vec<u8>, Fault> {
    let mut length = [0u8; 8];
    from.read_exact(&mut length).map_err(|_| Fault::Closed)?;
    let claimed = u64::from_le_bytes(length);
    if claimed > largest {
        return Err(Fault::TooLong(claimed));
    }
    // Sized once for the usual frame; a long one grows only as its bytes really arrive.
    let mut frame = Vec::with_capacity(claimed.min(1 << 20) as usize);
    from.take(claimed)
        .read_to_end(&mut frame)
        .map_err(|_| Fault::Closed)?;
    if frame.len() as u64 != claimed {
        return Err(Fault::Closed);
    }
    Ok(frame)
}

pub(super) fn write_frame(to: &mut impl Write, frame: &[u8]) -> std::io::Result<()> {
    to.write_all(&(frame.len() as u64).to_le_bytes())?;
    to.write_all(frame)
}

/// What a worker says of a saved email: its workbooks' provenance and the other attachments' names (as
/// postcard), then each workbook's bytes in a frame of its own; or why the email could not be opened.
#[derive(serde::Serialize, serde::Deserialize)]
enum UnpackReply {
    Opened {
        workbooks: Vec<MessageProvenance>,
        others: Vec<String>,
    },
    Unreadable(String),
}

pub(super) fn read_unpacked(
    replies: &mut BufReader<ChildStdout>,
    largest: u64,
) -> Result<Result<Unpacked, String>, Fault> {
    let reply: UnpackReply =
        postcard::from_bytes(&read_frame(replies, largest)?).map_err(|_| Fault::Garbled)?;
    match reply {
        UnpackReply::Unreadable(reason) => Ok(Err(reason)),
        UnpackReply::Opened { workbooks, others } => {
            let mut unpacked = Unpacked {
                workbooks: Vec::new(),
                others,
            };
            for provenance in workbooks {
                let bytes = read_frame(replies, largest)?;
                unpacked.workbooks.push(Attachment { provenance, bytes });
            }
            Ok(Ok(unpacked))
        }
    }
}

/// The worker's answer for a saved email.
pub(super) fn write_unpacked(
    replies: &mut impl Write,
    unpacked: Result<Unpacked, crate::read::Unreadable>,
) -> std::io::Result<()> {
    let (reply, blobs) = match unpacked {
        Ok(unpacked) => {
            let (workbooks, blobs): (Vec<_>, Vec<_>) = unpacked
                .workbooks
                .into_iter()
                .map(|a| (a.provenance, a.bytes))
                .unzip();
            let others = unpacked.others;
            (UnpackReply::Opened { workbooks, others }, blobs)
        }
        Err(unreadable) => (UnpackReply::Unreadable(unreadable.0), Vec::new()),
    };
    write_frame(
        replies,
        &postcard::to_allocvec(&reply).map_err(std::io::Error::other)?,
    )?;
    for blob in blobs {
        write_frame(replies, &blob)?;
    }
    Ok(())
}

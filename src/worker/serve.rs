//! The worker's side: reading returns handed over a pipe, under the memory and CPU limits.

use std::io::{BufReader, BufWriter, Write};

use super::protocol::{READY, Request, read_request, write_frame, write_unpacked};
use crate::platform;
use crate::read::message::unpack;
use crate::schema::Schemas;
use crate::validate::validate_bytes;

/// The worker's side: serves returns on standard input until it closes. Returns `Err` only when the
/// pipes themselves fail (the collating process went away).
pub fn serve(schemas: &Schemas) -> std::io::Result<()> {
    let limits = &schemas.dashboard.limits;
    platform::limits::limit_memory(limits.memory_mb);
    let mut requests = BufReader::new(std::io::stdin().lock());
    // Room for a batch's answers, so that they cross in one go when it is done.
    let mut replies = BufWriter::with_capacity(REPLIES_BUFFERED, std::io::stdout().lock());
    replies.write_all(&[READY])?;
    replies.flush()?;
    while let Some((request, files)) = read_request(&mut requests, limits.file_bytes())? {
        match request {
            Request::Unpack { file } => {
                platform::limits::limit_cpu_for_next(limits.cpu_seconds);
                let bytes = only(files);
                write_unpacked(&mut replies, unpack(&file, &bytes, limits))?;
            }
            Request::Validate { file } => validate(schemas, &file, only(files), &mut replies)?,
            Request::ValidateEach { files: names } => {
                for (file, bytes) in names.iter().zip(files) {
                    validate(schemas, file, bytes, &mut replies)?;
                }
            }
        }
        replies.flush()?;
    }
    Ok(())
}

/// The bytes of a request for one file.
fn only(files: Vec<Vec<u8>>) -> Vec<u8> {
    files.into_iter().next().unwrap_or_default()
}

/// What a worker holds of its answers before they cross the pipe.
const REPLIES_BUFFERED: usize = 256 * 1024;

/// Validates one file within its own CPU-time limit and writes the answer.
fn validate(
    schemas: &Schemas,
    file: &str,
    bytes: Vec<u8>,
    replies: &mut impl Write,
) -> std::io::Result<()> {
    platform::limits::limit_cpu_for_next(schemas.dashboard.limits.cpu_seconds);
    let validated = validate_bytes(schemas, file, bytes);
    let reply = postcard::to_allocvec(&validated).map_err(std::io::Error::other)?;
    write_frame(replies, &reply)
}

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
    let mut replies = BufWriter::new(std::io::stdout().lock());
    replies.write_all(&[READY])?;
    replies.flush()?;
    while let Some((request, bytes)) = read_request(&mut requests, limits.file_bytes())? {
        platform::limits::limit_cpu_for_next(limits.cpu_seconds);
        match request {
            Request::Unpack { file } => {
                write_unpacked(&mut replies, unpack(&file, &bytes, limits))?;
            }
            Request::Validate { file } => {
                let validated = validate_bytes(schemas, &file, bytes);
                let reply = postcard::to_allocvec(&validated).map_err(std::io::Error::other)?;
                write_frame(&mut replies, &reply)?;
            }
        }
        replies.flush()?;
    }
    Ok(())
}

//! Windows event log files (`.evtx`), read with the `evtx` crate.
//!
//! An EVTX file is a 4 KiB header followed by 64 KiB chunks, each holding its own records
//! (binary XML) and the string and template tables they refer to. The reader thread only
//! reads chunks (I/O, in record order: from the chunk holding the oldest records, wrapping
//! around as Windows reads a full log); each chunk is one [`RawRecord`], so the evaluator
//! renders the chunks of a batch in parallel, and memory stays bounded by the batch (a chunk
//! is 64 KiB whatever the size of the file).
//!
//! Each record is rendered as the JSON that `evtx_dump` writes (`Event.System`,
//! `Event.EventData`, XML attributes under `#attributes`), the form of SigmaHQ's
//! `regression_data/**/*.json`, and then read like any Windows event JSON (so it goes
//! through the same `normalize_windows`). A chunk that cannot be read is one error (the
//! chunk's number in the file); a record that cannot be rendered is one error with its
//! `EventRecordID`; reading goes on with the next.

use std::fs::File;
use std::sync::{Arc, OnceLock};

use evtx::{EvtxChunk, EvtxChunkData, EvtxParser, IntoIterChunks, ParserSettings};

use super::{Body, Pos, RawRecord};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::event::{normalize_windows, Val};

/// The first 8 bytes of an EVTX file.
pub(super) const MAGIC: &[u8; 8] = b"ElfFile\0";

/// The chunks of one open EVTX file, in record order.
pub(super) struct Chunks {
    chunks: IntoIterChunks<File>,
    /// Chunks returned so far (for the number of a chunk that could not be read).
    seen: u64,
}

/// One chunk, not yet rendered.
pub(super) struct Chunk(EvtxChunkData);

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunk")
            .field("number", &self.0.number)
            .field("bytes", &self.0.data.len())
            .finish_non_exhaustive()
    }
}

/// The rendering settings: compact JSON with XML attributes under `#attributes` (as
/// `evtx_dump -o json` writes), one thread per chunk (chunks are rendered in parallel by the
/// caller).
fn settings() -> Arc<ParserSettings> {
    static SETTINGS: OnceLock<Arc<ParserSettings>> = OnceLock::new();
    SETTINGS
        .get_or_init(|| {
            Arc::new(
                ParserSettings::new()
                    .num_threads(1)
                    .indent(false)
                    .separate_json_attributes(false),
            )
        })
        .clone()
}

/// An error of the `evtx` crate with its causes (its messages say little on their own).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Opens an EVTX file whose first bytes are [`MAGIC`] (`file` is positioned at its start).
pub(super) fn open(file: File, name: &str) -> Result<Chunks> {
    let parser = EvtxParser::from_read_seek(file).map_err(|e| {
        Error::new(ErrorKind::Io(format!(
            "not a readable EVTX file: {}",
            chain(&e)
        )))
        .in_file(name)
    })?;
    Ok(Chunks {
        chunks: parser
            .with_configuration((*settings()).clone())
            .into_chunks(),
        seen: 0,
    })
}

impl Chunks {
    /// The next chunk (or why it could not be read); `None` at the end of the file.
    pub(super) fn next(&mut self) -> Option<RawRecord> {
        let item = self.chunks.next()?;
        self.seen += 1;
        let body = match item {
            Ok(c) => Body::Evtx(Box::new(Chunk(c))),
            Err(e) => Body::Error(
                format!(
                    "EVTX chunk {} cannot be read ({}); its records are skipped",
                    self.seen,
                    chain(&e)
                ),
                0,
                None,
            ),
        };
        Some(RawRecord {
            line: 0,
            column: 0,
            body,
        })
    }
}

impl Chunk {
    /// The size of the chunk in bytes.
    pub(super) fn len(&self) -> usize {
        self.0.data.len()
    }

    /// Renders each record of the chunk, in order, and calls `f` on its normalised event (or
    /// its error).
    pub(super) fn for_each_event(&self, file: &str, f: &mut dyn FnMut(Pos, Result<Val<'_>>)) {
        let err = |msg: String| Error::new(ErrorKind::Event(msg)).in_file(file);
        let number = self
            .0
            .number
            .map_or(String::new(), |n| format!(" {}", n + 1));
        let mut chunk = match EvtxChunk::new(&self.0.data, &self.0.header, settings()) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!(
                    "EVTX chunk{number} cannot be read ({}); its records are skipped",
                    chain(&e)
                );
                return f(Pos::default(), Err(err(msg)));
            }
        };
        for record in chunk.iter() {
            let json = record.and_then(evtx::EvtxRecord::into_json);
            match json {
                Ok(r) => match Val::parse(&r.data) {
                    Ok(v) => f(Pos::default(), Ok(normalize_windows(v))),
                    Err(e) => f(
                        Pos::default(),
                        Err(err(format!(
                            "EVTX record {} rendered as invalid JSON ({e}); it is skipped",
                            r.event_record_id
                        ))),
                    ),
                },
                Err(e) => f(
                    Pos::default(),
                    Err(err(format!(
                        "an EVTX record of chunk{number} cannot be read ({}); it is skipped",
                        chain(&e)
                    ))),
                ),
            }
        }
    }
}

//! The codecs that run in the bundled Python worker (libavif + libaom, libjxl, OpenJPH,
//! jpegli from the `imagecodecs` and `pyjpegli` wheels): their versions, asked once per run,
//! and their encode and decode calls. See [`super::external::worker`] for the protocol.
//!
//! Why a worker and not a link: libaom >= 3.12 (for `tune=iq`) and libjxl >= 0.11 are not in
//! any crate we may use (libaom-sys ships 3.11; the libjxl bindings are GPL) and building them
//! from source costs CI more than 10 CPU-minutes; the wheels install in seconds. The worker is
//! started once per worker thread and times the library call itself, so rows exclude Python
//! start-up and file I/O (`timing` = reported).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value as Json;

use super::external::{worker, ExternalError, WorkerError, DEFAULT_TIMEOUT_S};
use super::{CodecError, Decoded, Encoded, Params};
use crate::pixels::Image;

fn timeout() -> Duration {
    Duration::from_secs_f64(DEFAULT_TIMEOUT_S)
}

/// What to tell a user whose worker cannot start or lacks its packages (unless the worker
/// said it already).
fn advice(e: WorkerError) -> WorkerError {
    if e.to_string().contains(worker::BUNDLED_INSTALL) {
        e
    } else {
        WorkerError::NeedsPython(Box::new(e))
    }
}

/// The library version behind `codec` in the bundled worker, or why it is not available;
/// asked once per process.
pub fn version(codec: &str) -> Result<String, WorkerError> {
    static CACHE: Mutex<Option<HashMap<String, Result<String, WorkerError>>>> = Mutex::new(None);
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_with(HashMap::new);
    cache
        .entry(codec.to_string())
        .or_insert_with(|| {
            let argv = worker::bundled()?;
            worker::version(&argv, Duration::from_secs(60), codec).map_err(advice)
        })
        .clone()
}

/// A version string for `codecs` and result rows: the library's, or "not available (why)".
pub fn version_or_reason(codec: &str, what: &str) -> String {
    match version(codec) {
        Ok(v) => v,
        Err(e) => format!("{what} (not available: {e})"),
    }
}

/// Encodes in the bundled worker; `extra` adds parameters the codec derives.
pub fn encode(
    codec: &str,
    img: &Image,
    params: &Params,
    extra: &[(&str, Json)],
) -> Result<Encoded, CodecError> {
    let argv = ready(codec)?;
    worker::encode(&argv, timeout(), codec, img, params, extra).map_err(|e| in_codec(codec, e))
}

/// Decodes in the bundled worker.
pub fn decode(codec: &str, data: &[u8]) -> Result<Decoded, CodecError> {
    let argv = ready(codec)?;
    worker::decode(&argv, timeout(), codec, data).map_err(|e| in_codec(codec, e))
}

/// The worker's command line once `codec` is known to be available in it.
fn ready(codec: &str) -> Result<Vec<String>, CodecError> {
    version(codec).map_err(|e| in_codec(codec, e))?;
    Ok(worker::bundled().map_err(advice)?)
}

fn in_codec(codec: &str, error: WorkerError) -> CodecError {
    ExternalError::Bundled {
        codec: codec.to_string(),
        error,
    }
    .into()
}

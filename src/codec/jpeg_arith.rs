//! mozjpeg through its raw C API (mozjpeg-sys), for `jpeg:arithmetic=true`: the mozjpeg crate
//! keeps its `jpeg_compress_struct` private and has no setter for `arith_code`. The calls
//! mirror the crate's `Compress` step for step (create, colour space, `jpeg_set_defaults`,
//! size, `jpeg_set_quality`, scan optimisation, sampling factors), so with `arithmetic` false
//! the bytes equal the crate's (a unit test checks this); with it true, `arith_code` is set
//! and `optimize_coding` cleared, as mozjpeg's `cjpeg -arithmetic` does.

use std::ffi::c_void;
use std::mem;
use std::os::raw::{c_int, c_ulong};

use mozjpeg_sys as ffi;

use crate::pixels::Image;

extern "C" {
    /// `jpeg_mem_dest` allocates its buffer with malloc.
    fn free(ptr: *mut c_void);
}

/// libjpeg's fatal-error hook: unwind with libjpeg's message (the codec's `catch` turns the
/// panic into an error row); libjpeg cannot return from here.
extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg calls this hook with its live common struct, whose `err` is null or points
    // to the error manager the Guard owns for the whole compression.
    let code = unsafe { cinfo.err.as_ref().map_or(0, |e| e.msg_code) };
    std::panic::resume_unwind(Box::new(format!("libjpeg fatal error (JERR code {code})")));
}

extern "C-unwind" fn silence(_: &mut ffi::jpeg_common_struct, _: c_int) {}

/// Owns the compressor, its error manager and the output buffer; frees them even when libjpeg
/// unwinds.
struct Guard {
    cinfo: Box<ffi::jpeg_compress_struct>,
    _err: Box<ffi::jpeg_error_mgr>,
    buf: *mut u8,
    size: c_ulong,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: `cinfo` was created by jpeg_CreateCompress before the Guard could be dropped
        // (destroying a zeroed struct is a no-op in libjpeg), and `buf` is null or the buffer
        // jpeg_mem_dest allocated with malloc, freed exactly once here.
        unsafe {
            ffi::jpeg_destroy_compress(&mut self.cinfo);
            if !self.buf.is_null() {
                free(self.buf as *mut c_void);
            }
        }
    }
}

/// Encodes 8-bit gray or RGB `img` as the `jpeg` codec does, with arithmetic entropy coding
/// when `arithmetic` is true (`trellis` false turns mozjpeg's trellis quantisation off).
pub fn encode(
    img: &Image,
    q: i64,
    subsampling: &str,
    progressive: bool,
    arithmetic: bool,
    trellis: bool,
) -> Result<Vec<u8>, String> {
    let data = img.as_u8().ok_or("jpeg: input must be 8-bit")?;
    let gray = img.channels == 1;
    // SAFETY: the zeroed structs are plain C data that jpeg_std_error/jpeg_CreateCompress
    // initialise before use; the error manager is boxed so its address stays valid while
    // `cinfo.common.err` points to it; `comp_info` holds `num_components` entries after
    // jpeg_set_defaults; each scanline pointer covers `width x channels` bytes of `data`
    // (checked by `Image`); `buf`/`size` are read only after jpeg_finish_compress set them,
    // and the Guard frees everything on every path, including a libjpeg unwind.
    unsafe {
        let mut err: Box<ffi::jpeg_error_mgr> = Box::new(mem::zeroed());
        ffi::jpeg_std_error(&mut err);
        err.error_exit = Some(error_exit);
        err.emit_message = Some(silence);
        let mut g = Guard {
            cinfo: Box::new(mem::zeroed()),
            _err: err,
            buf: std::ptr::null_mut(),
            size: 0,
        };
        g.cinfo.common.err = &mut *g._err;
        let size = mem::size_of::<ffi::jpeg_compress_struct>();
        ffi::jpeg_CreateCompress(&mut *g.cinfo, ffi::JPEG_LIB_VERSION, size);
        let c = &mut *g.cinfo;
        c.in_color_space = if gray {
            ffi::J_COLOR_SPACE::JCS_GRAYSCALE
        } else {
            ffi::J_COLOR_SPACE::JCS_RGB
        };
        c.input_components = if gray { 1 } else { 3 };
        ffi::jpeg_set_defaults(c);
        c.image_width = img.width;
        c.image_height = img.height;
        ffi::jpeg_set_quality(c, q as c_int, 0);
        if !progressive {
            ffi::jpeg_c_set_bool_param(c, ffi::J_BOOLEAN_PARAM::JBOOLEAN_OPTIMIZE_SCANS, 0);
            c.scan_info = std::ptr::null();
        }
        if !gray {
            let (h, v) = match subsampling {
                "444" => (1, 1),
                "422" => (2, 1),
                _ => (2, 2),
            };
            let comps = std::slice::from_raw_parts_mut(c.comp_info, c.num_components as usize);
            // Luma carries the sampling factors, chroma 1x1 (as the crate's setter does).
            for (i, comp) in comps.iter_mut().enumerate() {
                (comp.h_samp_factor, comp.v_samp_factor) = if i == 0 { (h, v) } else { (1, 1) };
            }
        }
        if !trellis {
            // Only for tests: mozjpeg's trellis quantisation weighs distortion against the
            // rate of the entropy coder in use, so it alone makes arithmetic and Huffman files
            // quantise differently.
            ffi::jpeg_c_set_bool_param(c, ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT, 0);
            ffi::jpeg_c_set_bool_param(c, ffi::J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT_DC, 0);
        }
        if arithmetic {
            c.arith_code = 1;
            c.optimize_coding = 0;
        }
        ffi::jpeg_mem_dest(c, &mut g.buf, &mut g.size);
        ffi::jpeg_start_compress(c, 1);
        let stride = img.width as usize * img.channels as usize;
        for row in data.chunks_exact(stride) {
            let ptr = row.as_ptr();
            if ffi::jpeg_write_scanlines(c, &ptr, 1) != 1 {
                return Err("mozjpeg: jpeg_write_scanlines wrote no row".into());
            }
        }
        ffi::jpeg_finish_compress(c);
        Ok(std::slice::from_raw_parts(g.buf, g.size as usize).to_vec())
    }
}

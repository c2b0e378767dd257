//! Every raw libav call of the crate, for what `ffmpeg-next` does not wrap.
//!
//! Each function is small, documents who owns what, and leaves no libav resource behind: the
//! objects it touches are owned by `ffmpeg-next` wrappers that free them in `Drop`.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::Once;

use ffmpeg_next::ffi;
use ffmpeg_next::{codec, format, frame};

/// Routes libav's log into `tracing` (target `libav`), once per process.
///
/// libav logs routine complaints about damaged packets and unreadable files at "error" level,
/// which we recover from or report as an [`Error`](crate::Error) anyway, so its lines stay
/// below INFO: error -> DEBUG, everything else -> TRACE. `RUST_LOG=libav=debug` shows them.
pub(crate) fn route_libav_log_to_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `log_callback` matches the signature libav expects and is valid for the
        // whole process; libav may call it from any of its threads, which it supports
        // because it only touches thread-local state.
        unsafe {
            ffi::av_log_set_level(ffi::AV_LOG_VERBOSE);
            ffi::av_log_set_callback(Some(log_callback));
        }
    });
}

thread_local! {
    /// libav often logs one line in several calls; the pieces wait here for the newline.
    static PENDING_LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe extern "C" fn log_callback(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    args: *mut ffi::__va_list_tag,
) {
    if level > ffi::AV_LOG_VERBOSE || !log_enabled(level) {
        return;
    }
    let mut buffer = [0 as c_char; 1024];
    let mut print_prefix: c_int = 1;
    // SAFETY: `buffer` is writable for its whole length, which we pass; `fmt` and `args` come
    // from libav for exactly this call; libav NUL-terminates the output (truncating if needed).
    let text = unsafe {
        ffi::av_log_format_line2(
            avcl,
            level,
            fmt,
            args,
            buffer.as_mut_ptr(),
            buffer.len() as c_int,
            &mut print_prefix,
        );
        CStr::from_ptr(buffer.as_ptr())
            .to_string_lossy()
            .into_owned()
    };
    PENDING_LINE.with_borrow_mut(|pending| {
        pending.push_str(&text);
        if pending.ends_with('\n') {
            emit(level, pending.trim_end());
            pending.clear();
        }
    });
}

fn log_enabled(level: c_int) -> bool {
    if level <= ffi::AV_LOG_ERROR {
        tracing::enabled!(target: "libav", tracing::Level::DEBUG)
    } else {
        tracing::enabled!(target: "libav", tracing::Level::TRACE)
    }
}

fn emit(level: c_int, line: &str) {
    if level <= ffi::AV_LOG_ERROR {
        tracing::debug!(target: "libav", "{line}");
    } else {
        tracing::trace!(target: "libav", "{line}");
    }
}

/// A new reference to the same picture buffers (no pixel copy), so several renditions can
/// read one decoded frame. `ffmpeg-next`'s `Clone` copies every pixel instead.
pub(crate) fn share_frame(source: &frame::Video) -> Result<frame::Video, ffmpeg_next::Error> {
    let mut shared = frame::Video::empty();
    // SAFETY: `shared` owns a freshly allocated, empty AVFrame; `source` is a valid frame.
    // av_frame_ref adds references to `source`'s buffers, released when `shared` drops.
    let status = unsafe { ffi::av_frame_ref(shared.as_mut_ptr(), source.as_ptr()) };
    if status < 0 {
        Err(ffmpeg_next::Error::from(status))
    } else {
        Ok(shared)
    }
}

/// Whether the container's duration comes from its header (MP4, Matroska) rather than from
/// reading timestamps or guessing from the bitrate: only then does a shortfall mean truncation.
pub(crate) fn duration_declared_by_header(input: &format::context::Input) -> bool {
    // SAFETY: `input` wraps a valid, opened AVFormatContext for the duration of the borrow.
    let method = unsafe { ffi::av_fmt_ctx_get_duration_estimation_method(input.as_ptr()) };
    method == ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_STREAM
}

/// Sets the VBV buffer size (bits), which `ffmpeg-next` does not expose.
pub(crate) fn set_rc_buffer_size(encoder: &mut codec::encoder::video::Video, bits: u32) {
    // SAFETY: the encoder context is valid and not yet opened; rc_buffer_size is a plain int.
    unsafe { (*encoder.as_mut_ptr()).rc_buffer_size = bits.min(i32::MAX as u32) as c_int };
}

/// Makes the muxer write out everything it buffers (PES packets in progress) and pushes the
/// AVIO buffer into our writer, so the bytes written so far form whole TS packets.
pub(crate) fn flush_muxer(output: &mut format::context::Output) -> Result<(), ffmpeg_next::Error> {
    // SAFETY: `output` is a valid muxer whose header was written; a NULL packet asks an
    // AVFMT_ALLOW_FLUSH muxer (mpegts) to flush. `pb` is the custom AVIO context owned by
    // `output`, valid while it lives.
    unsafe {
        let ctx = output.as_mut_ptr();
        let status = ffi::av_write_frame(ctx, std::ptr::null_mut());
        if status < 0 {
            return Err(ffmpeg_next::Error::from(status));
        }
        ffi::avio_flush((*ctx).pb);
    }
    Ok(())
}

/// Asks the mpegts muxer to repeat PAT and PMT before the next packet, so the next segment
/// starts with them. The muxer clears the flag after use, so this is called at every cut.
pub(crate) fn resend_ts_headers(
    output: &mut format::context::Output,
) -> Result<(), ffmpeg_next::Error> {
    let name = CString::new("mpegts_flags").expect("no NUL");
    let value = CString::new("+resend_headers").expect("no NUL");
    // SAFETY: priv_data is the mpegts muxer's private context (an AVClass-enabled struct)
    // owned by `output`; av_opt_set copies the strings.
    let status = unsafe {
        ffi::av_opt_set(
            (*output.as_mut_ptr()).priv_data,
            name.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    if status < 0 {
        Err(ffmpeg_next::Error::from(status))
    } else {
        Ok(())
    }
}

/// Whether the stream declares interlaced coding (any field order but progressive/unknown).
pub(crate) fn declares_interlaced(parameters: &codec::Parameters) -> bool {
    use ffi::AVFieldOrder::*;
    // SAFETY: `parameters` wraps a valid AVCodecParameters; field_order is a plain enum field.
    let order = unsafe { (*parameters.as_ptr()).field_order };
    matches!(order, AV_FIELD_TT | AV_FIELD_BB | AV_FIELD_TB | AV_FIELD_BT)
}

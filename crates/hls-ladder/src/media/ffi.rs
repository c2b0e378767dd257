//! Every raw libav call of the crate, for what `ffmpeg-next` does not wrap.
//!
//! Each function is small, documents who owns what, and leaves no libav resource behind: the
//! objects it touches are owned by `ffmpeg-next` wrappers that free them in `Drop`.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::Once;

use ffmpeg_next::ffi;
use ffmpeg_next::{Dictionary, codec, format, frame};

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

/// The `va_list` argument of libav's log callback, as the generated bindings spell it for the
/// target: where C's `va_list` is an array of one `__va_list_tag` (x86-64 System V), the
/// argument decays to a pointer to it; elsewhere (aarch64 Linux and macOS, 32-bit x86,
/// Windows) it is the `va_list` value itself.
#[cfg(all(target_arch = "x86_64", not(windows)))]
type VaList = *mut ffi::__va_list_tag;
#[cfg(not(all(target_arch = "x86_64", not(windows))))]
type VaList = ffi::va_list;

unsafe extern "C" fn log_callback(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    args: VaList,
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

/// Whether libav only guessed the container's duration from its size and bitrate (raw
/// streams, some MPEG files): then the duration says nothing, and the input is measured.
pub(crate) fn duration_guessed_from_bitrate(input: &format::context::Input) -> bool {
    // SAFETY: `input` wraps a valid, opened AVFormatContext for the duration of the borrow.
    let method = unsafe { ffi::av_fmt_ctx_get_duration_estimation_method(input.as_ptr()) };
    method == ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE
}

/// How many entries of a stream's index carry data, when the container keeps an index of
/// every frame (MP4, AVI); `None` without an index. Entries of no bytes (an AVI's "show the
/// previous picture again", which capture tools write for every skipped frame) do not count:
/// they are not frames that could go missing.
pub(crate) fn indexed_frames_with_data(
    input: &format::context::Input,
    stream: usize,
) -> Option<u64> {
    let stream = input.stream(stream)?;
    // SAFETY: the stream belongs to `input`, which is borrowed for the whole call, so it and
    // its index stay valid; each entry pointer is read before any other libav call.
    unsafe {
        let pointer = stream.as_ptr() as *mut ffi::AVStream;
        let count = ffi::avformat_index_get_entries_count(pointer);
        let with_data = (0..count)
            .filter(|&i| {
                let entry = ffi::avformat_index_get_entry(pointer, i);
                !entry.is_null() && (*entry).size() > 0
            })
            .count();
        (count > 0).then_some(with_data as u64)
    }
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

/// Why [`open_input`] did not open an input.
#[derive(Debug)]
pub(crate) enum OpenInputError {
    /// The content was recognised as this demuxer, which the caller did not allow.
    Refused(String),
    /// libav could not read it; `demuxer` names the container it was recognised as, if any.
    Libav {
        error: ffmpeg_next::Error,
        demuxer: Option<String>,
    },
}

/// Opens an input that reads from `io` and from nothing else.
///
/// - The container is detected from the content alone (no file name, so no extension), and
///   the detected demuxer must pass `allowed` before it parses anything beyond the probe.
/// - `io_open` refuses every request and the protocol whitelist is empty, so a demuxer that
///   names other resources (a playlist, a reference, a nested input) cannot open them, whether
///   it asks through the context or opens a nested context of its own.
/// - `decoder_options` (e.g. `max_pixels`) apply to the decoders that stream-info detection
///   opens for the streams the header declares.
pub(crate) fn open_input(
    mut io: format::context::StreamIo,
    allowed: impl Fn(&str) -> bool,
    decoder_options: &Dictionary,
) -> Result<format::context::Input, OpenInputError> {
    let libav = |status: c_int| OpenInputError::Libav {
        error: ffmpeg_next::Error::from(status),
        demuxer: None,
    };
    let recognised = |status: c_int, name: &str| OpenInputError::Libav {
        error: ffmpeg_next::Error::from(status),
        demuxer: Some(name.to_string()),
    };
    // SAFETY: `ps` is a fresh context we own until it is handed to `Input` (or freed on each
    // early return: avformat_free_context before avformat_open_input, which itself frees the
    // context when it fails, avformat_close_input after it). `pb` stays owned by `io`
    // (AVFMT_FLAG_CUSTOM_IO: libav never frees it), and `io` outlives the context because the
    // returned `Input` owns both. Strings given to av_opt_set and dictionaries are copied.
    unsafe {
        let mut ps = ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err(libav(ffi::AVERROR(ffi::ENOMEM)));
        }
        (*ps).pb = io.as_mut_ptr();
        (*ps).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        (*ps).io_open = Some(refuse_io_open);
        let empty = CString::new("").expect("no NUL");
        let whitelist = CString::new("protocol_whitelist").expect("no NUL");
        let status = ffi::av_opt_set(ps.cast(), whitelist.as_ptr(), empty.as_ptr(), 0);
        if status < 0 {
            ffi::avformat_free_context(ps);
            return Err(libav(status));
        }

        let mut detected: *const ffi::AVInputFormat = std::ptr::null();
        let score =
            ffi::av_probe_input_buffer2((*ps).pb, &mut detected, std::ptr::null(), ps.cast(), 0, 0);
        if score < 0 || detected.is_null() {
            ffi::avformat_free_context(ps);
            return Err(libav(if score < 0 {
                score
            } else {
                ffi::AVERROR_INVALIDDATA
            }));
        }
        let name = CStr::from_ptr((*detected).name)
            .to_string_lossy()
            .into_owned();
        if !allowed(&name) {
            ffi::avformat_free_context(ps);
            return Err(OpenInputError::Refused(name));
        }

        // The demuxer is fixed: the whitelist holds it alone, so no later probe can switch it.
        let mut options = Dictionary::new();
        options.set("format_whitelist", first_name(&name));
        options.set("enable_drefs", "0");
        let mut options = options.disown();
        let status = ffi::avformat_open_input(&mut ps, std::ptr::null(), detected, &mut options);
        drop(Dictionary::own(options));
        if status < 0 {
            return Err(recognised(status, &name));
        }

        let streams = (*ps).nb_streams as usize;
        let mut per_stream: Vec<*mut ffi::AVDictionary> = (0..streams)
            .map(|_| decoder_options.clone().disown())
            .collect();
        let per_stream_pointer = if streams == 0 {
            std::ptr::null_mut()
        } else {
            per_stream.as_mut_ptr()
        };
        let status = ffi::avformat_find_stream_info(ps, per_stream_pointer);
        for dictionary in per_stream {
            drop(Dictionary::own(dictionary));
        }
        if status < 0 {
            ffi::avformat_close_input(&mut ps);
            return Err(recognised(status, &name));
        }
        Ok(format::context::Input::wrap_with_custom_io(ps, io))
    }
}

/// The first of a demuxer's comma-separated names, as `format_whitelist` matches them.
fn first_name(name: &str) -> &str {
    name.split(',').next().unwrap_or(name)
}

/// `AVFormatContext.io_open` for an input that must not open anything else: every request
/// (a playlist entry, a reference, a nested file) is refused.
unsafe extern "C" fn refuse_io_open(
    _context: *mut ffi::AVFormatContext,
    _pb: *mut *mut ffi::AVIOContext,
    _url: *const c_char,
    _flags: c_int,
    _options: *mut *mut ffi::AVDictionary,
) -> c_int {
    ffi::AVERROR(ffi::EPERM)
}

/// Caps the picture size (width x height) a decoder accepts before it allocates a frame;
/// `ffmpeg-next` does not expose `max_pixels`.
pub(crate) fn set_max_pixels(context: &mut codec::Context, pixels: u64) {
    // SAFETY: the codec context is valid and not yet opened; max_pixels is a plain int64.
    unsafe { (*context.as_mut_ptr()).max_pixels = i64::try_from(pixels).unwrap_or(i64::MAX) };
}

/// Sets the quality a frame asks of an encoder opened with `AV_CODEC_FLAG_QSCALE` (the
/// JPEG quantizer, as `ffmpeg -q:v` does): `qscale` 2 (best) to 31.
pub(crate) fn set_frame_qscale(frame: &mut frame::Video, qscale: i32) {
    // SAFETY: `frame` owns a valid AVFrame; `quality` is a plain int field.
    unsafe {
        (*frame.as_mut_ptr()).quality = qscale * ffi::FF_QP2LAMBDA;
    }
}

/// Pushes what the muxer wrote so far through its custom AVIO to the writer behind it,
/// without asking the muxer to flush anything it holds back (unlike [`flush_muxer`]).
pub(crate) fn flush_io(output: &mut format::context::Output) {
    // SAFETY: `output` is a valid muxer; `pb` is the custom AVIO context it owns.
    unsafe {
        ffi::avio_flush((*output.as_mut_ptr()).pb);
    }
}

/// Frees what a decoded subtitle holds (its rectangles and their text): `ffmpeg-next`'s
/// `Subtitle` does not, so every decoded one must come here once read.
pub(crate) fn free_subtitle(subtitle: &mut ffmpeg_next::Subtitle) {
    // SAFETY: `subtitle` wraps a valid AVSubtitle that avcodec_decode_subtitle2 filled (or a
    // zeroed one); avsubtitle_free frees its rects and zeroes it, so a second call is harmless.
    unsafe {
        ffi::avsubtitle_free(subtitle.as_mut_ptr());
    }
}

//! What a conversion publishes, and in which order: each segment as it is cut, each media
//! playlist after the segments it lists, the master playlist after the media playlists.
//!
//! By default the playlists are published once, when every segment is: the video becomes
//! playable when it is complete. With [`ConvertOptions::progressive`](crate::ConvertOptions)
//! it is playable as soon as every rendition has its first segment: growing `EVENT` media
//! playlists and a master playlist are published then, each media playlist again after every
//! segment it gains, and at the end the same VOD playlists and master playlist a
//! non-progressive run publishes replace them.

use crate::captions::{Cue, SubtitleReport, subtitle_rendition, track_dirs};
use crate::hls::{
    AAC_LC, AudioMedia, IFrame, IFramePlaylist, IFrameVariant, MasterPlaylist, MediaPlaylist,
    PlaylistKind, PlaylistSegment, SubtitleMedia, Variant,
};
use crate::ladder::Rendition;
use crate::media::audio_track::output_channels;
use crate::media::messages::{SegmentOf, SegmentReady};
use crate::media::rung_encoder::{RungSummary, max_bitrate};
use crate::media::still_maker::{Jpeg, StillReady, StillsPlan};
use crate::media::ts_segmenter::SegmentJoin;
use crate::report::{AudioReport, DownloadReport, MASTER_PLAYLIST, RenditionReport};
use crate::resume::{PublishedSegment, RenditionPoint, ResumePoint};
use crate::sink::{FileObject, HlsObject, ObjectKind, Sink};
use crate::source_info::{SourceInfo, separate_audio_tracks};
use crate::stills::{
    ImageReport, POSTER, POSTER_SMALL, STORYBOARD, StillsReport, StoryboardReport, render_vtt,
    sheet_path,
};
use crate::{ConvertOptions, Error};

/// The MPEG-TS overhead over the elementary streams' bitrates, for the bandwidth a growing
/// master playlist announces before it is measured (PES and TS headers, PAT/PMT, PCR).
const TS_OVERHEAD: f64 = 1.05;

/// What a conversion published, as its report tells it.
pub(crate) struct Published {
    pub(crate) renditions: Vec<RenditionReport>,
    pub(crate) stills: Option<StillsReport>,
    pub(crate) subtitles: Vec<SubtitleReport>,
    pub(crate) audio: Vec<AudioReport>,
    pub(crate) downloads: Vec<DownloadReport>,
}

/// Segments published for one rendition.
#[derive(Default)]
struct RenditionOutput {
    playlist: MediaPlaylist,
    /// Bytes of each segment, in playlist order.
    sizes: Vec<u64>,
    /// Bytes of each segment up to the end of its first keyframe (0: unknown).
    keyframe_bytes: Vec<u64>,
    /// The RFC 6381 string of its video, once its first segment is cut.
    video_codec: Option<String>,
    /// Frames of each segment this run cut, in playlist order (0 for segments of an earlier
    /// run, counted in [`Publisher::frames_before`]).
    frames: Vec<u64>,
    /// Where the segment after each one starts, for the segments this run cut.
    joins: Vec<Option<SegmentJoin>>,
}

impl RenditionOutput {
    /// The segments an earlier run published, as `point` lists them for one rendition.
    fn resumed(point: &RenditionPoint) -> RenditionOutput {
        let mut published = RenditionOutput {
            video_codec: point.video_codec.clone(),
            ..RenditionOutput::default()
        };
        published.playlist.media_sequence = 1;
        for segment in &point.segments {
            published.playlist.segments.push(PlaylistSegment {
                uri: segment.uri.clone(),
                duration: segment.duration,
            });
            published.sizes.push(segment.bytes);
            published.keyframe_bytes.push(segment.keyframe_bytes);
            published.frames.push(0);
            published.joins.push(None);
        }
        published
    }

    fn bytes(&self) -> u64 {
        self.sizes.iter().sum()
    }

    /// The I-frame playlist of its segments' first keyframes, when every one is known.
    fn iframe_playlist(&self) -> Option<IFramePlaylist> {
        if self.keyframe_bytes.contains(&0) || self.keyframe_bytes.is_empty() {
            return None;
        }
        let iframes = self
            .playlist
            .segments
            .iter()
            .zip(&self.keyframe_bytes)
            .map(|(segment, &length)| IFrame {
                uri: segment.uri.clone(),
                duration: segment.duration,
                length,
            })
            .collect();
        Some(IFramePlaylist {
            media_sequence: self.playlist.media_sequence,
            iframes,
        })
    }

    /// AVERAGE-BANDWIDTH: all its bytes over its duration, in bits per second.
    fn average_bitrate(&self) -> u64 {
        (self.bytes() as f64 * 8.0 / self.playlist.duration().max(0.001)).round() as u64
    }

    /// BANDWIDTH: the peak segment bitrate. Segments under a second (the tail) would overstate
    /// it, so they count only when there is nothing else.
    fn peak_bitrate(&self) -> u64 {
        let rates = |min_duration: f64| {
            self.playlist
                .segments
                .iter()
                .zip(&self.sizes)
                .filter(|(s, _)| s.duration >= min_duration)
                .map(|(s, &bytes)| bytes as f64 * 8.0 / s.duration.max(0.001))
                .fold(None, |peak: Option<f64>, rate| {
                    Some(peak.map_or(rate, |p| p.max(rate)))
                })
        };
        rates(1.0).or_else(|| rates(0.0)).unwrap_or(0.0).round() as u64
    }
}

/// Publishes one conversion's output to a sink.
pub(crate) struct Publisher<'a> {
    renditions: &'a [Rendition],
    info: &'a SourceInfo,
    published: Vec<RenditionOutput>,
    /// The audio renditions of a source with several audio tracks (none otherwise).
    audio: Vec<RenditionOutput>,
    /// Their folders under `audio/`, by language.
    audio_dirs: Vec<String>,
    /// Publish growing playlists while converting.
    progressive: bool,
    /// The target duration growing playlists announce.
    announced_target: u64,
    audio_bitrate: u32,
    /// Whether the growing master playlist was published.
    playable: bool,
    /// What a resume point must match (see [`ResumePoint`]).
    settings: String,
    /// Segments the last resume point handed to the sink covers.
    resume_offered: u64,
    /// Whether resume points are offered (not with an MP4 download, which needs every
    /// packet from the start).
    resumable: bool,
    /// Frames in the segments an earlier run published, when resumed.
    frames_before: u64,
    /// How the stills are made, when they are.
    stills_plan: Option<StillsPlan>,
    /// The stills published so far.
    stills: Option<StillsReport>,
}

impl<'a> Publisher<'a> {
    /// A publisher for a run of `renditions`; resumed from `resume` (made with the same
    /// `settings`), it starts with the segments the point lists.
    pub(crate) fn new(
        renditions: &'a [Rendition],
        info: &'a SourceInfo,
        options: &ConvertOptions,
        settings: String,
        resume: Option<&ResumePoint>,
        stills_plan: Option<StillsPlan>,
    ) -> Publisher<'a> {
        let published = match resume {
            Some(point) => point
                .renditions
                .iter()
                .map(RenditionOutput::resumed)
                .collect(),
            None => renditions
                .iter()
                .map(|_| RenditionOutput::default())
                .collect(),
        };
        let lanes = separate_audio_tracks(info);
        let audio = match resume {
            Some(point) => point.audio.iter().map(RenditionOutput::resumed).collect(),
            None => (0..lanes).map(|_| RenditionOutput::default()).collect(),
        };
        let languages = info.audio_tracks.iter().map(|t| t.language.as_deref());
        let audio_dirs = track_dirs(languages.take(lanes));
        Publisher {
            renditions,
            info,
            published,
            audio,
            audio_dirs,
            progressive: options.progressive,
            announced_target: options.segment_seconds.round().max(1.0) as u64,
            audio_bitrate: options.audio_bitrate,
            playable: false,
            settings,
            resume_offered: resume.map_or(0, |p| p.segments),
            resumable: !options.mp4_download,
            frames_before: resume.map_or(0, |p| p.frames),
            stills_plan,
            stills: None,
        }
    }

    /// Publishes what is known before the first segment: resumed progressively, the segments
    /// of the earlier run are playable again at once.
    pub(crate) fn begin<S: Sink>(&mut self, sink: &mut S) -> Result<(), Error> {
        if self.progressive && self.resume_offered > 0 {
            self.grow(sink, SegmentOf::Rendition(0))?;
        }
        Ok(())
    }

    /// Publishes one segment; progressively, the playlists it changes after it, unless the
    /// conversion is `closing` (expected to end within moments: the final playlists follow).
    /// `clock_clean`: no timestamp was repaired so far (see [`ResumePoint`]).
    pub(crate) fn segment<S: Sink>(
        &mut self,
        sink: &mut S,
        ready: SegmentReady,
        clock_clean: bool,
        closing: bool,
    ) -> Result<(), Error> {
        let of = ready.of;
        let name = self.folder(of);
        let segment = ready.segment;
        // A rendition's last segment: its final playlist follows at once.
        let last = segment.join.is_none();
        let uri = format!("segment_{:05}.ts", segment.sequence);
        let size = segment.bytes.len() as u64;
        let kind = ObjectKind::Segment {
            rendition: name.clone(),
            sequence: segment.sequence,
            duration: segment.duration,
        };
        put(sink, format!("{name}/{uri}"), segment.bytes, kind)?;
        let entry = match of {
            SegmentOf::Rendition(index) => &mut self.published[index],
            SegmentOf::Audio(number) => &mut self.audio[number],
        };
        if entry.playlist.segments.is_empty() {
            entry.playlist.media_sequence = segment.sequence;
        }
        entry.playlist.segments.push(PlaylistSegment {
            uri,
            duration: segment.duration,
        });
        entry.sizes.push(size);
        entry.keyframe_bytes.push(segment.keyframe_bytes);
        entry.frames.push(segment.frames);
        entry.joins.push(segment.join);
        if entry.video_codec.is_none() {
            entry.video_codec = segment.video_codec;
        }
        // Once playable, a last segment, or one at the expected end, gets no growing playlist:
        // the final one names it moments later, and a store whose Last-Modified has whole
        // seconds needs the final version to come a second after the growing one (the
        // service's sink waits for that).
        if self.progressive && !((last || closing) && self.playable) {
            self.grow(sink, of)?;
        }
        self.offer_resume_point(sink, clock_clean)
    }

    /// The folder of an output's playlist and segments: `{rendition}` or `audio/{language}`.
    fn folder(&self, of: SegmentOf) -> String {
        match of {
            SegmentOf::Rendition(index) => self.renditions[index].name.clone(),
            SegmentOf::Audio(number) => format!("audio/{}", self.audio_dirs[number]),
        }
    }

    fn output(&self, of: SegmentOf) -> &RenditionOutput {
        match of {
            SegmentOf::Rendition(index) => &self.published[index],
            SegmentOf::Audio(number) => &self.audio[number],
        }
    }

    /// Every output: the renditions, then the audio renditions.
    fn outputs(&self) -> impl Iterator<Item = SegmentOf> + use<> {
        let renditions = (0..self.published.len()).map(SegmentOf::Rendition);
        renditions.chain((0..self.audio.len()).map(SegmentOf::Audio))
    }

    /// The audio renditions as the master playlist lists them.
    fn audio_media(&self) -> Vec<AudioMedia> {
        let tracks = &self.info.audio_tracks[..self.audio.len()];
        // Exactly one default: the first the source marks, else the one it would play alone.
        let default = tracks
            .iter()
            .position(|t| t.default)
            .or_else(|| {
                tracks
                    .iter()
                    .position(|t| Some(t) == self.info.audio.as_ref())
            })
            .unwrap_or(0);
        tracks
            .iter()
            .enumerate()
            .map(|(number, track)| AudioMedia {
                name: track
                    .title
                    .clone()
                    .or_else(|| track.language.clone())
                    .unwrap_or_else(|| format!("Audio {}", number + 1)),
                language: track.language.clone(),
                channels: output_channels(track.channels),
                default: number == default,
                uri: format!("{}/index.m3u8", self.folder(SegmentOf::Audio(number))),
            })
            .collect()
    }

    /// Hands the sink a new resume point when every rendition has published more segments
    /// than the last one covers, and they all cut at the same frame.
    fn offer_resume_point<S: Sink>(&mut self, sink: &mut S, clean: bool) -> Result<(), Error> {
        if !self.resumable {
            return Ok(());
        }
        let all = || self.published.iter().chain(&self.audio);
        let Some(count) = all().map(|p| p.joins.len()).min() else {
            return Ok(());
        };
        if count as u64 <= self.resume_offered {
            return Ok(());
        }
        let joins: Option<Vec<&SegmentJoin>> = all().map(|p| p.joins[count - 1].as_ref()).collect();
        let frames: Vec<u64> = self
            .published
            .iter()
            .map(|p| self.frames_before + p.frames[..count].iter().sum::<u64>())
            .collect();
        let Some(joins) = joins else {
            return Ok(());
        };
        if joins.iter().any(|j| j.pts != joins[0].pts) || frames.iter().any(|&f| f != frames[0]) {
            return Ok(());
        }
        let mut points = self.outputs().zip(&joins).map(|(of, join)| {
            let published = self.output(of);
            RenditionPoint {
                name: self.folder(of),
                video_codec: published.video_codec.clone(),
                segments: published.playlist.segments[..count]
                    .iter()
                    .zip(&published.sizes)
                    .zip(&published.keyframe_bytes)
                    .map(|((segment, &bytes), &keyframe_bytes)| PublishedSegment {
                        uri: segment.uri.clone(),
                        duration: segment.duration,
                        bytes,
                        keyframe_bytes,
                    })
                    .collect(),
                audio_dts: join.dts,
                continuity: join.continuity.clone(),
            }
        });
        let renditions = points.by_ref().take(self.published.len()).collect();
        let audio = points.collect();
        let point = ResumePoint {
            settings: self.settings.clone(),
            segments: count as u64,
            frames: frames[0],
            pts: joins[0].pts,
            clean,
            renditions,
            audio,
        };
        self.resume_offered = count as u64;
        sink.resume_point(&point).map_err(|source| Error::Sink {
            object: "(resume point)".into(),
            source,
        })
    }

    /// Publishes what a new segment of rendition `index` changed: its growing playlist once
    /// the video is playable; every growing playlist and the master playlist at the moment it
    /// becomes playable (every rendition has a segment).
    fn grow<S: Sink>(&mut self, sink: &mut S, of: SegmentOf) -> Result<(), Error> {
        if self.playable {
            return self.put_growing_playlist(sink, of);
        }
        if self
            .outputs()
            .any(|of| self.output(of).playlist.segments.is_empty())
        {
            return Ok(());
        }
        for of in self.outputs() {
            self.put_growing_playlist(sink, of)?;
        }
        let variants = (0..self.renditions.len())
            .map(|index| self.estimated_variant(index))
            .collect();
        let master = MasterPlaylist {
            variants,
            audio: self.audio_media(),
            ..MasterPlaylist::default()
        };
        put_master(sink, &master, true)?;
        self.playable = true;
        Ok(())
    }

    fn put_growing_playlist<S: Sink>(&self, sink: &mut S, of: SegmentOf) -> Result<(), Error> {
        let playlist = MediaPlaylist {
            kind: PlaylistKind::Event,
            min_target_duration: self.announced_target,
            ..self.output(of).playlist.clone()
        };
        let folder = self.folder(of);
        let path = format!("{folder}/index.m3u8");
        let kind = ObjectKind::MediaPlaylist {
            rendition: folder,
            growing: true,
        };
        put(sink, path, playlist.render().into_bytes(), kind)
    }

    /// A variant of the growing master playlist: its bandwidth from the encoder's settings
    /// (the peak rate the VBV allows, audio and the container's overhead added) unless the
    /// segments so far measured more; its codecs as the first segment has them.
    fn estimated_variant(&self, index: usize) -> Variant {
        let rendition = &self.renditions[index];
        let entry = &self.published[index];
        let audio = if self.info.audio.is_some() {
            f64::from(self.audio_bitrate)
        } else {
            0.0
        };
        let rate = |video: u32| ((f64::from(video) + audio) * TS_OVERHEAD).round() as u64;
        let codec = entry.video_codec.clone();
        self.variant(
            index,
            codec.unwrap_or_else(|| "avc1.640028".into()),
            entry
                .peak_bitrate()
                .max(rate(max_bitrate(rendition.video_bitrate))),
            rate(rendition.video_bitrate),
        )
    }

    fn variant(&self, index: usize, video_codec: String, bandwidth: u64, average: u64) -> Variant {
        let rendition = &self.renditions[index];
        Variant {
            uri: playlist_path(rendition),
            bandwidth,
            average_bandwidth: average,
            width: rendition.width,
            height: rendition.height,
            frame_rate: self.info.frame_rate,
            codecs: self.codecs(video_codec),
        }
    }

    fn codecs(&self, video_codec: String) -> Vec<String> {
        let mut codecs = vec![video_codec];
        if self.info.audio.is_some() {
            codecs.push(AAC_LC.to_string());
        }
        codecs
    }

    /// Publishes a sprite sheet as it fills, or, at the end, the posters and the storyboard's
    /// WebVTT file.
    pub(crate) fn still<S: Sink>(&mut self, sink: &mut S, ready: StillReady) -> Result<(), Error> {
        let Some(plan) = self.stills_plan else {
            return Ok(());
        };
        let stills = self.stills.get_or_insert_with(|| StillsReport {
            storyboard: StoryboardReport {
                path: STORYBOARD.into(),
                tile_width: plan.layout.tile_width,
                tile_height: plan.layout.tile_height,
                interval: plan.interval,
                ..StoryboardReport::default()
            },
            ..StillsReport::default()
        });
        match ready {
            StillReady::Sheet { sheet, image } => {
                let kind = ObjectKind::StoryboardSheet { sheet };
                let report = put_image(sink, sheet_path(sheet), image, kind)?;
                stills.storyboard.sheets.push(report);
            }
            StillReady::Done {
                poster,
                poster_small,
                poster_time,
                tiles,
            } => {
                stills.storyboard.thumbnails = tiles.len() as u64;
                let vtt = render_vtt(&tiles, plan.layout);
                put(
                    sink,
                    STORYBOARD.into(),
                    vtt.into_bytes(),
                    ObjectKind::Storyboard,
                )?;
                let kind = |image: &Jpeg| ObjectKind::Poster {
                    width: image.width,
                    height: image.height,
                };
                let (big, small) = (kind(&poster), kind(&poster_small));
                stills.poster = put_image(sink, POSTER.into(), poster, big)?;
                stills.poster_small = put_image(sink, POSTER_SMALL.into(), poster_small, small)?;
                stills.poster_time = poster_time;
            }
        }
        Ok(())
    }

    /// Publishes the subtitle renditions, each track's `cues` (in the order of
    /// [`SourceInfo::subtitles`]) cut at the video's segment boundaries; returns them as the
    /// master playlist lists them.
    fn publish_subtitles<S: Sink>(
        &self,
        sink: &mut S,
        captions: &[Vec<Cue>],
    ) -> Result<(Vec<SubtitleMedia>, Vec<SubtitleReport>), Error> {
        let tracks = &self.info.subtitles;
        let Some(video) = self.published.first().filter(|_| !tracks.is_empty()) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let dirs = track_dirs(tracks.iter().map(|t| t.language.as_deref()));
        let mut media = Vec::new();
        let mut reports = Vec::new();
        for (number, ((track, dir), cues)) in tracks.iter().zip(&dirs).zip(captions).enumerate() {
            let durations: Vec<f64> = video.playlist.segments.iter().map(|s| s.duration).collect();
            let first = video.playlist.media_sequence;
            let (segments, playlist) = subtitle_rendition(cues, &durations, first);
            for ((uri, text), sequence) in segments.into_iter().zip(first..) {
                let kind = ObjectKind::SubtitleSegment {
                    track: dir.clone(),
                    sequence,
                };
                put(sink, format!("subs/{dir}/{uri}"), text.into_bytes(), kind)?;
            }
            let uri = format!("subs/{dir}/index.m3u8");
            let kind = ObjectKind::SubtitlePlaylist { track: dir.clone() };
            put(sink, uri.clone(), playlist.render().into_bytes(), kind)?;
            let name = track
                .title
                .clone()
                .or_else(|| track.language.clone())
                .unwrap_or_else(|| format!("Subtitles {}", number + 1));
            // One default at most: the first the source marks.
            let default = track.default && !tracks[..number].iter().any(|t| t.default);
            media.push(SubtitleMedia {
                name: name.clone(),
                language: track.language.clone(),
                default,
                forced: track.forced,
                uri: uri.clone(),
            });
            reports.push(SubtitleReport {
                name,
                language: track.language.clone(),
                playlist: uri,
                cues: cues.len() as u64,
                default,
                forced: track.forced,
            });
        }
        Ok((media, reports))
    }

    /// Publishes the subtitle renditions, the final (VOD) media playlists, the I-frame
    /// playlists and the master playlist, measured; returns what each rendition came to.
    pub(crate) fn finish<S: Sink>(
        self,
        sink: &mut S,
        summaries: &[RungSummary],
        captions: &[Vec<Cue>],
    ) -> Result<Published, Error> {
        let (subtitle_media, subtitles) = self.publish_subtitles(sink, captions)?;
        let audio = self.publish_audio_playlists(sink)?;
        // A variant plays with one audio rendition at a time: the most demanding counts for
        // the peak, the default one for the average.
        let audio_peak = audio.iter().map(|a| a.bandwidth).max().unwrap_or(0);
        let audio_average = self
            .audio
            .iter()
            .zip(&audio)
            .find(|(_, report)| report.default)
            .map_or(0, |(entry, _)| entry.average_bitrate());
        let mut reports = Vec::new();
        let mut master = MasterPlaylist {
            subtitles: subtitle_media,
            audio: self.audio_media(),
            ..MasterPlaylist::default()
        };
        for (index, summary) in summaries.iter().enumerate() {
            let rendition = &self.renditions[index];
            let entry = &self.published[index];
            let playlist = playlist_path(rendition);
            let kind = ObjectKind::MediaPlaylist {
                rendition: rendition.name.clone(),
                growing: false,
            };
            put(
                sink,
                playlist.clone(),
                entry.playlist.render().into_bytes(),
                kind,
            )?;
            if let Some(iframes) = entry.iframe_playlist() {
                let uri = format!("{}/iframes.m3u8", rendition.name);
                let kind = ObjectKind::IFramePlaylist {
                    rendition: rendition.name.clone(),
                };
                put(sink, uri.clone(), iframes.render().into_bytes(), kind)?;
                master.iframe_variants.push(IFrameVariant {
                    uri,
                    bandwidth: iframes.peak_bitrate(),
                    average_bandwidth: iframes.average_bitrate(),
                    width: rendition.width,
                    height: rendition.height,
                    codec: summary.codec_string.clone(),
                });
            }
            let duration = entry.playlist.duration();
            let average_bandwidth = entry.average_bitrate();
            let bandwidth = entry.peak_bitrate().max(average_bandwidth) + audio_peak;
            let average_bandwidth = average_bandwidth + audio_average;
            let variant = self.variant(
                index,
                summary.codec_string.clone(),
                bandwidth,
                average_bandwidth,
            );
            reports.push(RenditionReport {
                rendition: rendition.clone(),
                codecs: variant.codecs.clone(),
                playlist,
                segments: entry.playlist.segments.len() as u64,
                bytes: entry.bytes(),
                duration,
                frames: summary.frames,
                bandwidth,
                average_bandwidth,
            });
            master.variants.push(variant);
        }
        let downloads = self.publish_downloads(sink, summaries)?;
        put_master(sink, &master, false)?;
        // Complete only with its posters: a run whose stills thread made none has none.
        let stills = self.stills.filter(|s| !s.poster.path.is_empty());
        Ok(Published {
            renditions: reports,
            stills,
            subtitles,
            audio,
            downloads,
        })
    }

    /// Hands the sink the MP4 download a rendition muxed, from its file.
    fn publish_downloads<S: Sink>(
        &self,
        sink: &mut S,
        summaries: &[RungSummary],
    ) -> Result<Vec<DownloadReport>, Error> {
        let mut reports = Vec::new();
        for (rendition, summary) in self.renditions.iter().zip(summaries) {
            let Some(file) = &summary.download else {
                continue;
            };
            let path = format!("download/{}.mp4", rendition.name);
            let failed = |source: crate::sink::SinkError| Error::Sink {
                object: path.clone(),
                source,
            };
            let bytes = std::fs::metadata(file.path())
                .map_err(|e| failed(Box::new(e)))?
                .len();
            sink.put_file(FileObject {
                path: path.clone(),
                file: file.path(),
                bytes,
                kind: ObjectKind::Download {
                    rendition: rendition.name.clone(),
                },
            })
            .map_err(failed)?;
            reports.push(DownloadReport {
                rendition: rendition.name.clone(),
                path,
                bytes,
            });
        }
        Ok(reports)
    }

    /// Publishes the final (VOD) playlists of the audio renditions; returns what each came to.
    fn publish_audio_playlists<S: Sink>(&self, sink: &mut S) -> Result<Vec<AudioReport>, Error> {
        let media = self.audio_media();
        let mut reports = Vec::new();
        for ((number, entry), media) in self.audio.iter().enumerate().zip(media) {
            let folder = self.folder(SegmentOf::Audio(number));
            let kind = ObjectKind::MediaPlaylist {
                rendition: folder,
                growing: false,
            };
            let bytes = entry.playlist.render().into_bytes();
            put(sink, media.uri.clone(), bytes, kind)?;
            reports.push(AudioReport {
                name: media.name,
                language: media.language,
                channels: media.channels,
                default: media.default,
                playlist: media.uri,
                segments: entry.playlist.segments.len() as u64,
                bytes: entry.bytes(),
                bandwidth: entry.peak_bitrate(),
            });
        }
        Ok(reports)
    }
}

/// Where a rendition's media playlist is, relative to the output root.
fn playlist_path(rendition: &Rendition) -> String {
    format!("{}/index.m3u8", rendition.name)
}

fn put_master<S: Sink>(sink: &mut S, master: &MasterPlaylist, growing: bool) -> Result<(), Error> {
    let kind = ObjectKind::MasterPlaylist { growing };
    put(
        sink,
        MASTER_PLAYLIST.into(),
        master.render().into_bytes(),
        kind,
    )
}

fn put_image<S: Sink>(
    sink: &mut S,
    path: String,
    image: Jpeg,
    kind: ObjectKind,
) -> Result<ImageReport, Error> {
    let report = ImageReport {
        path: path.clone(),
        width: image.width,
        height: image.height,
        bytes: image.bytes.len() as u64,
    };
    put(sink, path, image.bytes, kind)?;
    Ok(report)
}

fn put<S: Sink>(sink: &mut S, path: String, bytes: Vec<u8>, kind: ObjectKind) -> Result<(), Error> {
    sink.put(HlsObject {
        path: path.clone(),
        bytes,
        kind,
    })
    .map_err(|source| Error::Sink {
        object: path,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(segments: &[(f64, u64)]) -> RenditionOutput {
        let mut p = RenditionOutput::default();
        for (i, &(duration, bytes)) in segments.iter().enumerate() {
            p.playlist.segments.push(PlaylistSegment {
                uri: format!("s{i}.ts"),
                duration,
            });
            p.sizes.push(bytes);
        }
        p
    }

    #[test]
    fn peak_bandwidth_ignores_a_short_tail_segment() {
        let p = published(&[(6.0, 750_000), (6.0, 1_500_000), (0.2, 100_000)]);
        assert_eq!(p.peak_bitrate(), 2_000_000);
        assert_eq!(p.bytes(), 2_350_000);
    }

    #[test]
    fn a_lone_short_segment_still_gives_a_peak() {
        assert_eq!(published(&[(0.5, 1_000)]).peak_bitrate(), 16_000);
        assert_eq!(published(&[]).peak_bitrate(), 0);
    }
}

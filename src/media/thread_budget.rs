//! How many threads each rendition's x264 encoder gets.
//!
//! Every encoder left at x264's default (1.5 threads per core each) oversubscribes the machine
//! several times over when renditions encode in parallel: more context switches, more frames
//! in flight, more memory. Instead the machine's budget (x264's own 1.5 per core) is shared
//! among renditions by pixel count, so the largest one, which bounds the wall time, gets most.

/// x264 threads for renditions of these pixel counts on a machine with `cores` cores.
pub(crate) fn x264_threads(pixels: &[u64], cores: usize) -> Vec<usize> {
    let budget = (cores * 3).div_ceil(2).max(2) as f64;
    let total: u64 = pixels.iter().sum::<u64>().max(1);
    pixels
        .iter()
        .map(|&p| ((budget * p as f64 / total as f64).round() as usize).max(1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1080: u64 = 1920 * 1080;
    const P720: u64 = 1280 * 720;
    const P480: u64 = 854 * 480;
    const P360: u64 = 640 * 360;

    #[test]
    fn on_two_cores_the_largest_rendition_gets_two_threads_and_the_rest_one() {
        assert_eq!(x264_threads(&[P720, P480, P360], 2), [2, 1, 1]);
        assert_eq!(x264_threads(&[P1080, P720, P480, P360], 2), [2, 1, 1, 1]);
    }

    #[test]
    fn on_a_big_machine_threads_follow_pixel_counts() {
        assert_eq!(x264_threads(&[P1080, P720, P480, P360], 16), [14, 6, 3, 2]);
    }

    #[test]
    fn a_single_rendition_gets_the_whole_budget() {
        assert_eq!(x264_threads(&[P360], 2), [3]);
        assert_eq!(x264_threads(&[P360], 1), [2]);
    }
}

//! Per-frame HFC and HPCP allocate nothing once the extractor is built: a counting global
//! allocator (in this test binary only) watches a loop over many frames.
// Native only for now: reads fixtures with std::fs / uses proptest, which is a native dev-dependency.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use ainrec::features::hpcp::{Hpcp, HpcpConfig, HpcpExtractor};
use ainrec::features::spectral::{hfc_masri, PeakOrder, SpectralPeaks};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Only the measuring thread counts: the test harness's own threads may allocate meanwhile
    // (seen once as a spurious failure). A const-initialised Cell needs no allocation to read.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Deterministic spectra with many peaks (more than `maxPeaks`) and plateaus.
fn spectra(n_frames: usize, n_bins: usize) -> Vec<Vec<f32>> {
    let mut state = 12345u32;
    (0..n_frames)
        .map(|t| {
            (0..n_bins)
                .map(|k| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let noise = (state >> 8) as f32 / (1u32 << 24) as f32;
                    // Quantised so that equal neighbours (plateaus) occur; silent every 7th frame.
                    if t % 7 == 0 {
                        0.0
                    } else {
                        ((noise * 8.0).floor() + 1.0) / (1.0 + k as f32 * 0.01)
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn per_frame_work_does_not_allocate() {
    const N_BINS: usize = 1025;
    let frames = spectra(64, N_BINS);
    let mut extractor = HpcpExtractor::with_design_defaults(22_050.0, N_BINS).unwrap();
    let by_magnitude = SpectralPeaks {
        order_by: PeakOrder::Magnitude,
        ..SpectralPeaks::default()
    };
    let cap = by_magnitude.capacity_for(N_BINS);
    let (mut f, mut m) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
    let hpcp36 = Hpcp::new(HpcpConfig {
        size: 36,
        ..HpcpConfig::default()
    })
    .unwrap();
    let mut out = [0.0f32; 12];
    let mut out36 = [0.0f32; 36];
    let mut sink = 0.0f32;

    COUNTING.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for mag in &frames {
        sink += hfc_masri(mag, 22_050.0);
        extractor.compute(mag, &mut out).unwrap();
        sink += out[0];
        by_magnitude.compute(mag, &mut f, &mut m);
        hpcp36.compute(&f, &m, &mut out36);
        sink += out36[0];
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(false));
    assert!(sink.is_finite());
    assert_eq!(after - before, 0, "allocations during per-frame work");
}

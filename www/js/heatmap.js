// The MFCC heat-map of the last track analysed, and the viridis colour scale it (and the
// recommendations' attention strips) are drawn in: one scale, so the two read the same.
import { $ } from './ui.js';

export function viridis(t) {
  // Polynomial fit of matplotlib's viridis (public-domain coefficients by Matt Zucker).
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  return [0, 1, 2].map((k) => {
    let v = c[6][k];
    for (let i = 5; i >= 0; i--) v = c[i][k] + t * v;
    return Math.round(255 * Math.min(1, Math.max(0, v)));
  });
}

export function drawMfcc({ nFrames, nCoeffs: nMfcc, data }) {
  const canvas = $('mfcc-canvas');
  const img = new ImageData(nFrames, nMfcc);
  for (let c = 0; c < nMfcc; c++) {
    let lo = Infinity; let hi = -Infinity;
    for (let t = 0; t < nFrames; t++) {
      const v = data[t * nMfcc + c];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo || 1;
    const y = nMfcc - 1 - c; // c0 at the bottom
    for (let t = 0; t < nFrames; t++) {
      const [r, g, b] = viridis((data[t * nMfcc + c] - lo) / span);
      const p = (y * nFrames + t) * 4;
      img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
    }
  }
  const off = new OffscreenCanvas(nFrames, nMfcc);
  off.getContext('2d').putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

/** Empties the heat-map (Forget me). */
export function clearMfcc() {
  $('mfcc-canvas').getContext('2d').clearRect(0, 0, 960, 200);
}

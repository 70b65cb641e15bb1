// The camera page: MobileUNet runs in the browser through onnxruntime-web (WASM). One session, created once;
// one input tensor reused every frame; requestVideoFrameCallback paces the loop to the camera.
// A frame's pixels come from WebCodecs (VideoFrame.copyTo as RGBA) where the browser has it: in headless Chromium 156
// on 2 cores, 0.5 ms a 640x480 frame against 11 for drawImage + getImageData (scripts/camera-grab/run.sh, median of
// 50 frames); other browsers take the canvas path.
// Pre-processing is the server's own (FrameOps.ResizeBilinear, half-pixel centres; Normalization.ToChw), so a
// frame's mask here matches the server's mask for the same pixels (the browser test checks IoU >= 0.99).
import * as ort from '/vendor/ort/ort.wasm.min.mjs';

const params = new URLSearchParams(location.search);
const hud = document.getElementById('hud');
const view = document.getElementById('view');
const video = document.getElementById('video');
const mode = document.getElementById('mode');
const bgLabel = document.getElementById('bgLabel');
const bgFile = document.getElementById('bgFile');

// What a test (or a curious person in the console) reads: FPS and the mask of one known frame.
// frameMs: one frame's whole work, and stageMs its parts (grab: the frame's pixels; pre: resize and normalise;
// model; compose: mask and picture); the rest of a frame period is waiting for the camera. medianMs: the same
// and the frame period (period), medians of the last 60 frames, refreshed every 30 (one frame's figures are noisy).
const state = window.mobileunet = { ready: false, error: null, fps: 0, frames: 0, inferenceMs: 0, frameMs: 0,
  stageMs: { grab: 0, pre: 0, model: 0, compose: 0 }, medianMs: null, threads: 0, grabber: null, known: null };
const stages = ['grab', 'pre', 'model', 'compose', 'frame', 'period'];
const history = Object.fromEntries(stages.map(k => [k, new Float64Array(60)]));
const knownFrame = Number(params.get('known') ?? 10);
// With serve --api-key, open /camera?key=KEY once: the key is kept in this browser and sent with the API calls.
if (params.get('key')) localStorage.setItem('mobileunet.key', params.get('key'));
const headers = localStorage.getItem('mobileunet.key') ? { 'X-API-Key': localStorage.getItem('mobileunet.key') } : {};
async function get(url) {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${(await response.text()).trim()}`);
  return response;
}

function fail(error) {
  state.error = String(error?.message ?? error);
  hud.textContent = `error: ${state.error}`;
  throw error;
}

/** Source taps of a bilinear resize along one axis (index, next index, weight), computed once per frame size. */
function axisTaps(srcSize, dstSize) {
  const lo = new Int32Array(dstSize), hi = new Int32Array(dstSize), weight = new Float32Array(dstSize);
  for (let i = 0; i < dstSize; i++) [lo[i], hi[i], weight[i]] = tap(i, srcSize / dstSize, srcSize);
  return { lo, hi, weight };
}

/** Bilinear resize of interleaved 8-bit pixels, half-pixel centres: FrameOps.ResizeBilinear (byte). The taps come
 *  precomputed (axisTaps), so a frame allocates nothing here. */
function resizeBytes(src, sw, ch, dst, dw, dh, xs, ys) {
  for (let y = 0; y < dh; y++) {
    const y0 = ys.lo[y], y1 = ys.hi[y], fy = ys.weight[y];
    for (let x = 0; x < dw; x++) {
      const x0 = xs.lo[x], x1 = xs.hi[x], fx = xs.weight[x];
      for (let c = 0; c < ch; c++) {
        const a = src[(y0 * sw + x0) * ch + c], b = src[(y0 * sw + x1) * ch + c];
        const d = src[(y1 * sw + x0) * ch + c], e = src[(y1 * sw + x1) * ch + c];
        const top = Math.fround(a + Math.fround((b - a) * fx)), bottom = Math.fround(d + Math.fround((e - d) * fx));
        dst[(y * dw + x) * ch + c] = Math.floor(Math.fround(top + Math.fround((bottom - top) * fy)) + 0.5);
      }
    }
  }
}

/** Bilinear resize of one float plane: FrameOps.ResizeBilinear (float). */
function resizeFloats(src, sw, sh, dst, dw, dh) {
  const sx = sw / dw, sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const [y0, y1, fy] = tap(y, sy, sh);
    for (let x = 0; x < dw; x++) {
      const [x0, x1, fx] = tap(x, sx, sw);
      const left = src[y0 * sw + x0] + (src[y1 * sw + x0] - src[y0 * sw + x0]) * fy;
      const right = src[y0 * sw + x1] + (src[y1 * sw + x1] - src[y0 * sw + x1]) * fy;
      dst[y * dw + x] = left + (right - left) * fx;
    }
  }
}

function tap(index, scale, size) {
  const pos = Math.max(Math.fround(Math.fround((index + 0.5) * Math.fround(scale)) - 0.5), 0);
  const i0 = Math.min(Math.floor(pos), size - 1);
  return [i0, Math.min(i0 + 1, size - 1), Math.fround(pos - i0)];
}

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function main() {
  const info = await (await get('/v1/model')).json();
  const S = info.input_size, threshold = info.threshold;
  const { mean, std } = info.normalization;
  // One core is left to the browser, which decodes and presents the camera's frames beside us: on 2 cores, two WASM
  // threads made the model no faster and cost frames (26.5-27.6 FPS from a 30 FPS camera against 29.9 with one,
  // headless Chromium, README "Measured"). ?threads=N overrides.
  const cores = navigator.hardwareConcurrency || 1;
  const threads = Number(params.get('threads') ?? (self.crossOriginIsolated ? Math.max(1, Math.min(4, cores - 1)) : 1));
  ort.env.wasm.wasmPaths = '/vendor/ort/';
  ort.env.wasm.numThreads = threads;
  state.threads = threads;
  const model = new Uint8Array(await (await get('/v1/model.onnx')).arrayBuffer());
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0], outputName = session.outputNames[0];

  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' }, audio: false });
  video.srcObject = stream;
  await video.play();
  const W = video.videoWidth, H = video.videoHeight;
  view.width = W; view.height = H;
  const viewCtx = view.getContext('2d');
  const grab = new OffscreenCanvas(W, H), grabCtx = grab.getContext('2d', { willReadFrequently: true });
  // The frame's RGBA pixels, reused every frame; the model and the picture both start from them.
  const frameImage = new ImageData(W, H), pixels = frameImage.data, asRgba = { format: 'RGBA' };
  // How frames are read: 'webcodecs' until a frame cannot be copied as RGBA, then 'canvas' for good.
  state.grabber = typeof VideoFrame === 'function' && typeof VideoFrame.prototype.copyTo === 'function' ? 'webcodecs' : 'canvas';
  // The background blur runs at a quarter of the size (a 16th of the pixels) and is scaled back up: the same look,
  // measured in headless Chromium on a busy 2-core machine, compose went from 17.2 to 8.4 ms a frame (one run each).
  const blurred = new OffscreenCanvas(Math.ceil(W / 4), Math.ceil(H / 4)), blurCtx = blurred.getContext('2d');
  blurCtx.filter = `blur(${Math.max(1, Math.round(W / 160))}px)`;
  const maskCanvas = new OffscreenCanvas(S, S), maskCtx = maskCanvas.getContext('2d');
  const maskImage = maskCtx.createImageData(S, S), maskData = maskImage.data;
  maskData.fill(255); // white everywhere; each frame writes only the alpha (the mask)
  let background = gradient(W, H);
  bgFile.addEventListener('change', async () => { if (bgFile.files[0]) background = await createImageBitmap(bgFile.files[0]); });
  mode.addEventListener('change', () => { bgLabel.hidden = mode.value !== 'replace'; });

  const small = new Uint8ClampedArray(S * S * 4);
  const xTaps = axisTaps(W, S), yTaps = axisTaps(H, S);
  const chw = new Float32Array(3 * S * S);
  const input = new ort.Tensor('float32', chw, [1, 3, S, S]);
  const scale = [0, 1, 2].map(c => 1 / (255 * std[c])), offset = [0, 1, 2].map(c => -mean[c] / std[c]);
  state.ready = true;

  let last = performance.now(), busy = false;
  const next = cb => 'requestVideoFrameCallback' in video ? video.requestVideoFrameCallback(cb) : requestAnimationFrame(cb);
  const frame = async () => {
    if (busy) return next(frame);
    busy = true;
    const start = performance.now();
    try {
      await grabPixels();
      const grabbed = performance.now();
      if (W === S && H === S) small.set(pixels); else resizeBytes(pixels, W, 4, small, S, S, xTaps, yTaps);
      for (let i = 0, n = S * S; i < n; i++) {
        chw[i] = small[i * 4] * scale[0] + offset[0];
        chw[n + i] = small[i * 4 + 1] * scale[1] + offset[1];
        chw[2 * n + i] = small[i * 4 + 2] * scale[2] + offset[2];
      }
      const t0 = performance.now();
      const output = await session.run({ [inputName]: input });
      const t1 = performance.now();
      state.inferenceMs = t1 - t0;
      const probability = output[outputName].data;
      for (let i = 0; i < S * S; i++) maskData[i * 4 + 3] = Math.round(Math.min(1, Math.max(0, probability[i])) * 255);
      output[outputName].dispose?.();
      maskCtx.putImageData(maskImage, 0, 0);
      compose(W, H);
      const end = performance.now();
      state.frameMs = end - start;
      const ms = t => Math.round(t * 10) / 10;
      state.stageMs = { grab: ms(grabbed - start), pre: ms(t0 - grabbed), model: ms(t1 - t0), compose: ms(end - t1) };
      const now = performance.now(), slot = state.frames % 60;
      history.grab[slot] = grabbed - start; history.pre[slot] = t0 - grabbed; history.model[slot] = t1 - t0;
      history.compose[slot] = end - t1; history.frame[slot] = end - start; history.period[slot] = now - last;
      state.frames++;
      if (state.frames % 30 === 0 && state.frames >= 60)
        state.medianMs = Object.fromEntries(stages.map(k => [k, ms(history[k].slice().sort()[30])]));
      if (state.frames === knownFrame) recordKnown(pixels, probability);
      state.fps = state.fps ? state.fps * 0.9 + 100 / (now - last) : 1000 / (now - last);
      last = now;
      hud.textContent = `${state.fps.toFixed(1)} FPS · model ${state.inferenceMs.toFixed(1)} ms · ${S}x${S} · wasm ${threads} thread${threads > 1 ? 's' : ''}`;
    } catch (e) { fail(e); } finally { busy = false; }
    next(frame);
  };

  /** The current video frame into `pixels`, and into the grab canvas that compose draws from. */
  async function grabPixels() {
    if (state.grabber === 'webcodecs') {
      const frame = new VideoFrame(video);
      try {
        // A browser that does not know copyTo's `format` ignores it (an unknown dictionary member) and would copy the
        // camera's own planes (I420, NV12) without a word: only one tightly packed RGBA plane is taken.
        if (frame.displayWidth === W && frame.displayHeight === H && frame.allocationSize(asRgba) === pixels.length) {
          const planes = await frame.copyTo(pixels, asRgba);
          if (planes.length === 1 && planes[0].offset === 0 && planes[0].stride === W * 4) {
            grabCtx.putImageData(frameImage, 0, 0);
            return;
          }
        }
      } catch { /* a browser whose copyTo cannot convert to RGBA */ }
      finally { frame.close(); }
      state.grabber = 'canvas'; // or a frame of another size than the stream's first: the canvas path from now on
    }
    grabCtx.drawImage(video, 0, 0, W, H);
    pixels.set(grabCtx.getImageData(0, 0, W, H).data);
  }

  function compose(W, H) {
    viewCtx.filter = 'none';
    viewCtx.imageSmoothingEnabled = true;
    viewCtx.globalCompositeOperation = 'source-over';
    if (mode.value === 'mask') {
      viewCtx.fillStyle = '#000';
      viewCtx.fillRect(0, 0, W, H);
      viewCtx.drawImage(maskCanvas, 0, 0, W, H);
      return;
    }
    // On the visible canvas itself: the sharp frame, cut by the mask (soft edges from the bilinear upscale of the
    // S x S mask), then the background drawn behind what is left. The same picture as drawing a cut-out over the
    // background, without a full-size intermediate canvas and its copy.
    viewCtx.globalCompositeOperation = 'copy';
    viewCtx.drawImage(grab, 0, 0);
    viewCtx.globalCompositeOperation = 'destination-in';
    viewCtx.drawImage(maskCanvas, 0, 0, W, H);
    viewCtx.globalCompositeOperation = 'destination-over';
    if (mode.value === 'blur') {
      blurCtx.drawImage(grab, 0, 0, blurred.width, blurred.height);
      viewCtx.drawImage(blurred, 0, 0, W, H);
    } else viewCtx.drawImage(background, 0, 0, W, H);
    viewCtx.globalCompositeOperation = 'source-over';
  }

  function recordKnown(pixels, probability) {
    // The full-size mask exactly as the server makes it: bilinear upscale, then the model's threshold.
    const full = new Float32Array(W * H);
    resizeFloats(probability, S, S, full, W, H);
    const mask = new Uint8Array(W * H);
    for (let i = 0; i < mask.length; i++) mask[i] = full[i] >= threshold ? 255 : 0;
    const copy = new OffscreenCanvas(W, H);
    copy.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(pixels), W, H), 0, 0);
    copy.convertToBlob({ type: 'image/png' }).then(blob => blob.arrayBuffer()).then(buffer => {
      state.known = { frame: knownFrame, width: W, height: H, png: toBase64(new Uint8Array(buffer)), mask: toBase64(mask) };
    });
  }

  next(frame);
}

function gradient(W, H) {
  const canvas = new OffscreenCanvas(W, H), ctx = canvas.getContext('2d');
  const g = ctx.createLinearGradient(0, 0, W, H);
  g.addColorStop(0, '#1d4e89'); g.addColorStop(0.5, '#3fa7d6'); g.addColorStop(1, '#f6ae2d');
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, W, H);
  return canvas;
}

main().catch(fail);

// The bench page: `mobileunet bench` in the browser. The server says what to time (GET /v1/bench/plan: the CLI
// bench's grid, its parts and blocks, the budget) and hands out the untrained exports; this page only times them
// and posts the raw samples (POST /v1/bench?device=LABEL). Statistics, sizes, stability and the bench.json schema
// are the server's (the C# bench records), so nothing here restates them.
// WASM runs on the camera page's own files (ort.wasm.min.mjs), so its numbers are the camera's; WebGPU runs on
// ort.webgpu.min.mjs where navigator.gpu gives an adapter. Configurations are timed one after the other on each
// backend in turn, as the CLI runs one session at a time.

const params = new URLSearchParams(location.search);
const $ = id => document.getElementById(id);
const statusLine = $('status');

// What a test (or a curious person in the console) reads.
// checks: per backend, the mean output of each whole model on the fixed input: backends must agree (the
// WebGPU path is exercised for correctness even where its timings mean nothing, as on SwiftShader).
const state = window.mobileunet = { phase: 'idle', error: null, done: 0, total: 0, current: '', backends: [], software: false, checks: {}, saved: null };

// With serve --api-key, open /bench?key=KEY once: the key is kept in this browser and sent with the API calls.
if (params.get('key')) localStorage.setItem('mobileunet.key', params.get('key'));
const headers = localStorage.getItem('mobileunet.key') ? { 'X-API-Key': localStorage.getItem('mobileunet.key') } : {};

async function call(url, init = {}) {
  const response = await fetch(url, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${(await response.text()).trim()}`);
  return response;
}

function fail(error) {
  state.phase = 'error';
  state.error = String(error?.message ?? error);
  statusLine.textContent = `error: ${state.error}`;
  $('start').disabled = false;
}

const SOFTWARE_NOTE = 'WebGPU here runs on SwiftShader, a CPU emulation of a GPU: its timings are not representative of a GPU.';

/** WASM always; WebGPU when navigator.gpu gives an adapter. A missing WebGPU is reported, never skipped silently. */
async function findBackends(threads) {
  const wanted = (params.get('backends') ?? 'wasm,webgpu').split(',').map(s => s.trim());
  const found = [{ name: 'wasm', available: true, threads }];
  if (!wanted.includes('webgpu')) return found;
  if (!('gpu' in navigator)) return [...found, { name: 'webgpu', available: false, threads, reason: 'navigator.gpu is missing: no WebGPU in this browser' }];
  let adapter = null;
  try { adapter = await navigator.gpu.requestAdapter(); }
  catch (e) { return [...found, { name: 'webgpu', available: false, threads, reason: `requestAdapter failed: ${e.message ?? e}` }]; }
  if (!adapter) return [...found, { name: 'webgpu', available: false, threads, reason: 'navigator.gpu gave no adapter (WebGPU off, or no usable GPU)' }];
  const info = adapter.info ?? {};
  const described = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  // SwiftShader (and any fallback adapter) is the CPU pretending to be a GPU.
  const software = info.isFallbackAdapter === true || /swiftshader/i.test(described);
  return [...found, { name: 'webgpu', available: true, threads, adapter: described.slice(0, 300), software }];
}

async function loadRuntime(name, threads) {
  const ort = await import(name === 'wasm' ? '/vendor/ort/ort.wasm.min.mjs' : '/vendor/ort/ort.webgpu.min.mjs');
  ort.env.wasm.wasmPaths = '/vendor/ort/';
  ort.env.wasm.numThreads = threads;
  return ort;
}

/** Fixed pseudo-random values in [-1, 1) (the bench's inputs: speed does not depend on them). */
function randomInput(size, seed = 12345) {
  const data = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2147483648 - 1;
  }
  return data;
}

/**
 * Times one session as the CLI's LatencyRunner does: warm-up runs (at least warmupRuns, at least warmupSeconds),
 * then timed runs until maxRuns, or past the budget's seconds once a few runs are in. Each sample is one awaited
 * session.run with its outputs released, timed with performance.now() around it and nothing else inside.
 */
async function time(session, feeds, budget) {
  const run = async () => {
    const outputs = await session.run(feeds);
    for (const name in outputs) outputs[name].dispose?.();
  };
  const warmEnd = performance.now() + budget.warmupSeconds * 1000;
  for (let i = 0; i < budget.warmupRuns || performance.now() < warmEnd; i++) {
    await run();
    if (i >= 1000) break;
  }
  const samples = [];
  const start = performance.now(), deadline = start + budget.seconds * 1000;
  while (samples.length < budget.maxRuns) {
    const t0 = performance.now();
    await run();
    const t1 = performance.now();
    // Microseconds are the timer's own grain in an isolated page (5 us); more digits only bloat the post.
    samples.push(Math.round((t1 - t0) * 1000) / 1000);
    if (samples.length >= Math.min(budget.minRuns, budget.runsPastBudget) && t1 >= deadline) break;
  }
  return { samplesMs: samples, timedSeconds: Math.round(performance.now() - start) / 1000 };
}

async function fetchModel(url) {
  return new Uint8Array(await (await call(url)).arrayBuffer());
}

async function main() {
  const threads = Number(params.get('threads') ?? (self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1));
  const planKeys = ['alpha', 'size', 'parts', 'blocks', 'block-alpha', 'block-size', 'seconds', 'runs', 'warmup'];
  const planQuery = new URLSearchParams(planKeys.filter(k => params.has(k)).map(k => [k, params.get(k)]));
  const plan = await (await call(`/v1/bench/plan?${planQuery}`)).json();
  $('plan').textContent = `grid: alpha ${plan.alphas.join(', ')} x size ${plan.sizes.join(', ')}; ${plan.jobs.length} models`
    + (plan.parts ? ' (whole, encoder, each decoder variant)' : '') + (plan.blocks ? `, ${plan.blockJobs.length} blocks at a${plan.blockAlpha}/${plan.blockSize}` : '')
    + `; up to ${plan.budget.maxRuns} runs or ${plan.budget.seconds} s each`;

  const backends = state.backends = await findBackends(threads);
  state.software = backends.some(b => b.available && b.software);
  showBackends();

  const device = $('device');
  device.value = params.get('device') ?? device.value;
  $('start').addEventListener('click', () => run(plan, backends).catch(fail));
  if (params.get('run') === '1') await run(plan, backends);
}

function showBackends() {
  $('backends').textContent = 'backends: ' + state.backends.map(b => b.available
    ? `${b.name} (${b.name === 'wasm' ? `${b.threads} thread${b.threads > 1 ? 's' : ''}` : b.adapter}${b.software ? ': SwiftShader, not a GPU' : ''})`
    : `${b.name} unavailable: ${b.reason}`).join(' · ');
  const warning = $('warning');
  warning.hidden = !state.software;
  warning.textContent = state.software ? SOFTWARE_NOTE : '';
}

function addRow(backend, label, samples) {
  const row = document.createElement('tr');
  const name = backend.software ? `${backend.name} (SwiftShader: not a GPU)` : backend.name;
  for (const text of [name, label, String(samples.length), Math.min(...samples).toFixed(3)]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  document.querySelector('#rows tbody').append(row);
}

async function run(plan, backends) {
  const device = $('device').value.trim();
  if (!device) throw new Error('name this device first (e.g. pixel-7-chrome): the server saves the run under that name');
  $('start').disabled = true;
  state.phase = 'running';
  state.error = null;
  const live = backends.filter(b => b.available);
  const runtimes = new Map();
  for (const b of live) runtimes.set(b.name, await loadRuntime(b.name, b.threads));
  state.total = (plan.jobs.length + plan.blockJobs.length) * live.length;
  state.done = 0;
  const results = [], blocks = [];
  const features = new Map(); // backend -> the encoder's outputs for the current spec, the decoder's inputs
  let featuresOf = null;

  // One configuration on one backend. A WebGPU failure takes WebGPU out of this run (reported), not the page.
  async function timeOn(backend, label, bytes, feedsFor, check = false) {
    if (!backend.available) return null;
    state.current = `${backend.name} ${label}`;
    statusLine.textContent = `${state.done + 1}/${state.total}: ${state.current}`;
    const ort = runtimes.get(backend.name);
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend.name], graphOptimizationLevel: 'all' });
      try {
        const feeds = await feedsFor(ort, session.inputNames[0]);
        if (check) {
          const outputs = await session.run(feeds);
          const data = outputs[session.outputNames[0]].data;
          // The mean, and a sum weighted by position so that a shifted or scrambled mask does not pass for equal.
          let sum = 0, weighted = 0;
          for (let i = 0; i < data.length; i++) { sum += data[i]; weighted += data[i] * ((i % 97) - 48); }
          (state.checks[backend.name] ??= {})[label] = { mean: sum / data.length, weighted: weighted / data.length };
          for (const name in outputs) outputs[name].dispose?.();
        }
        const timed = await time(session, feeds, plan.budget);
        addRow(backend, label, timed.samplesMs);
        return timed;
      } finally { await session.release(); }
    } catch (e) {
      if (backend.name === 'wasm') throw e;
      backend.available = false;
      backend.reason = `failed on ${label}: ${String(e?.message ?? e).slice(0, 200)}`;
      showBackends();
      return null;
    } finally { state.done++; }
  }

  for (const job of plan.jobs) {
    const bytes = await fetchModel(job.url);
    for (const backend of live) {
      const timed = await timeOn(backend, job.label, bytes, async (ort, input) => {
        const s = job.size;
        if (job.part !== 'decoder') return { [input]: new ort.Tensor('float32', randomInput(3 * s * s), [1, 3, s, s]) };
        // The decoder is timed on the encoder's real outputs for such an image, computed once per spec and
        // backend (as the CLI does). The encoder names its outputs after the decoder's inputs plus "_out".
        if (featuresOf !== job.featuresUrl) { features.clear(); featuresOf = job.featuresUrl; }
        if (!features.has(backend.name)) {
          const encoder = await ort.InferenceSession.create(await fetchModel(job.featuresUrl), { executionProviders: [backend.name] });
          const outputs = await encoder.run({ [encoder.inputNames[0]]: new ort.Tensor('float32', randomInput(3 * s * s), [1, 3, s, s]) });
          const kept = {};
          for (const name of encoder.outputNames) kept[name.replace(/_out$/, '')] = { data: new Float32Array(outputs[name].data), dims: outputs[name].dims };
          await encoder.release();
          features.set(backend.name, kept);
        }
        const feeds = {};
        for (const [name, f] of Object.entries(features.get(backend.name))) feeds[name] = new ort.Tensor('float32', f.data, f.dims);
        return feeds;
      }, job.part === 'full');
      if (timed) results.push({ backend: backend.name, alpha: job.alpha, size: job.size, upsampling: job.upsampling, part: job.part, ...timed });
    }
  }
  for (const block of plan.blockJobs) {
    const bytes = await fetchModel(block.url);
    for (const backend of live) {
      const timed = await timeOn(backend, block.label, bytes, async (ort, input) => {
        const s = block.inputSize, c = block.inChannels;
        return { [input]: new ort.Tensor('float32', randomInput(c * s * s), [1, c, s, s]) };
      });
      if (timed) blocks.push({ backend: backend.name, alpha: block.alpha, size: block.size, stage: block.stage, kind: block.kind, ...timed });
    }
  }

  // Results of a backend that failed part-way are dropped with it: a record holds only complete backends.
  const complete = new Set(backends.filter(b => b.available).map(b => b.name));
  const ort = runtimes.get('wasm');
  const body = {
    runtime: `onnxruntime-web ${ort.env.versions?.web ?? 'unknown'}`,
    userAgent: navigator.userAgent.slice(0, 512),
    platform: (navigator.userAgentData?.platform || navigator.platform || 'unknown').slice(0, 100),
    cores: Math.min(1024, Math.max(1, navigator.hardwareConcurrency || 1)),
    query: location.search.slice(1).replace(/(^|&)key=[^&]*/g, '').slice(0, 2000),
    budgetSeconds: plan.budget.seconds,
    backends: backends.map(({ name, available, threads, reason, adapter, software }) => ({ name, available, threads, reason, adapter, software: !!software })),
    results: results.filter(r => complete.has(r.backend)),
    blocks: blocks.filter(b => complete.has(b.backend)),
  };
  state.phase = 'posting';
  statusLine.textContent = `posting ${body.results.length} results and ${body.blocks.length} blocks…`;
  const saved = await (await call(`/v1/bench?device=${encodeURIComponent(device)}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  })).json();
  state.saved = saved;
  state.phase = 'done';
  statusLine.textContent = `saved as ${saved.saved} on the server (${saved.results} results, ${saved.blocks} blocks): run \`mobileunet bench merge\` on it beside this machine's bench.json.`;
  const tables = $('tables');
  tables.textContent = [saved.table, saved.parts, saved.blockTable].filter(Boolean).join('\n')
    + (state.software ? `\n${SOFTWARE_NOTE}\n` : '');
  tables.hidden = false;
  $('start').disabled = false;
}

main().catch(fail);

// The upload page: the photo goes to POST /v1/segment?output=cutout; the answer is an RGBA PNG.
const drop = document.getElementById('drop');
const input = document.getElementById('file');
const status = document.getElementById('status');
const photo = document.getElementById('photo');
const cutout = document.getElementById('cutout');
// With serve --api-key, open /?key=KEY once: the key is kept in this browser and sent with each request.
const params = new URLSearchParams(location.search);
if (params.get('key')) localStorage.setItem('mobileunet.key', params.get('key'));
const headers = localStorage.getItem('mobileunet.key') ? { 'X-API-Key': localStorage.getItem('mobileunet.key') } : {};

async function segment(file) {
  photo.src = URL.createObjectURL(file);
  cutout.removeAttribute('src');
  status.textContent = 'segmenting…';
  const started = performance.now();
  const body = new FormData();
  body.append('image', file);
  const response = await fetch('/v1/segment?output=cutout', { method: 'POST', body, headers });
  if (!response.ok) {
    status.textContent = `${response.status}: ${(await response.text()).trim()}`;
    return;
  }
  cutout.src = URL.createObjectURL(await response.blob());
  const batch = response.headers.get('X-Batch-Size');
  status.textContent = `done in ${Math.round(performance.now() - started)} ms (model call shared by ${batch} request${batch === '1' ? '' : 's'})`;
}

input.addEventListener('change', () => input.files[0] && segment(input.files[0]));
for (const type of ['dragenter', 'dragover']) drop.addEventListener(type, e => { e.preventDefault(); drop.classList.add('over'); });
for (const type of ['dragleave', 'drop']) drop.addEventListener(type, e => { e.preventDefault(); drop.classList.remove('over'); });
drop.addEventListener('drop', e => e.dataTransfer.files[0] && segment(e.dataTransfer.files[0]));

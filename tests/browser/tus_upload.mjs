// tus-js-client (from web/node_modules, unchanged) uploading a file to the service in Node, in
// 1 MiB requests, through a connection the Rust test cuts mid-upload:
//
//   BASE_URL=http://127.0.0.1:PORT FILE=/abs/clip.mp4 [API_KEY=...] node tests/browser/tus_upload.mjs
//
// When the upload passes CUT_AFTER bytes, it prints `{"cut": offset}` on stdout and waits
// HOLD_MS before its next request, for the test to cut the connection; tus-js-client must then
// find the offset again (HEAD) and go on from there. Prints one JSON summary line at the end
// (the upload's URL, the offset of every PATCH, the HEADs, the errors it retried), or the
// reason on stderr with exit code 1.

import fs from 'node:fs';
import path from 'node:path';

const { BASE_URL, FILE, API_KEY } = process.env;
const CHUNK = 1024 * 1024;
const CUT_AFTER = 4 * CHUNK;
const HOLD_MS = 500;

let tus;
try {
  tus = await import(new URL('../../web/node_modules/tus-js-client/lib.esm/node/index.js', import.meta.url));
} catch (error) {
  console.error(`tus_upload: cannot load tus-js-client (${error.message}); run \`npm ci --prefix web\` first`);
  process.exit(1);
}

const file = fs.readFileSync(FILE);
const patchOffsets = [];
const retried = [];
let heads = 0;
let cutAnnounced = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The file as tus-js-client reads it, but pausing once, before the first request past
// CUT_AFTER, while the test cuts the connection.
const fileReader = {
  openFile: async () => ({
    size: file.length,
    async slice(start, end) {
      if (!cutAnnounced && start >= CUT_AFTER) {
        cutAnnounced = true;
        console.log(JSON.stringify({ cut: start }));
        await sleep(HOLD_MS);
      }
      const value = file.subarray(start, end);
      value.size = value.length; // as tus-js-client's own sources give it
      return { value, done: end >= file.length };
    },
    close() {},
  }),
};

const summary = await new Promise((resolve, reject) => {
  const upload = new tus.Upload(file, {
    endpoint: `${BASE_URL.replace(/\/$/, '')}/v1/uploads`,
    uploadSize: file.length,
    chunkSize: CHUNK,
    fileReader,
    headers: API_KEY ? { Authorization: `Bearer ${API_KEY}` } : {},
    metadata: { filename: path.basename(FILE), filetype: 'video/mp4' },
    retryDelays: [250, 500, 1000, 1000, 2000, 2000, 4000],
    onBeforeRequest(request) {
      if (request.getMethod() === 'PATCH') patchOffsets.push(Number(request.getHeader('Upload-Offset')));
      if (request.getMethod() === 'HEAD') heads += 1;
    },
    onShouldRetry(error) {
      retried.push(String(error.message).split('\n')[0]);
      return true;
    },
    onError: reject,
    onSuccess: () => resolve({ url: upload.url, size: file.length, patch_offsets: patchOffsets, heads, retried }),
  });
  upload.start();
}).catch((error) => {
  console.error(`tus_upload FAILED: ${error.message}`);
  process.exit(1);
});
console.log(JSON.stringify(summary));

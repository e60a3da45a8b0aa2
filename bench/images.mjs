// Image variants (issue 13) against libvips: the same 400 px WebP (Q80, fitted in 400×400) made
// by `vipsthumbnail` and by `stowage-devserver transform` from the same file, in the same run.
// Both run as a fresh process under one wrapper (python3's resource.getrusage of the child),
// which reads the wall time and the peak RSS of each process the same way; the devserver also
// reports the transform alone (read to encoded, without process start and file I/O) and its own
// VmHWM. Runs interleave the two tools; the figures are medians.
//
// Inputs, made with `vips` in the run: camera-like JPEGs of 12 and 24 megapixels (broad waves plus
// fine noise per band, Q90: structure a thumbnail keeps and detail everywhere), a PNG with alpha, an
// animated GIF (20 frames of 800×600 panning across such a scene; both tools read the first frame),
// and a PNG that claims 100,000 × 100,000 pixels (refused from its header: the bomb). The 12 MP
// photo also goes to AVIF against vipsthumbnail's (libheif/libaom) AVIF. Each output is decoded
// again by libvips, so its size is read from the file, not from the tool's own report. Then a load
// test of the server on loopback: one hot variant (cache hits), then distinct signed sizes (misses).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { ADMIN_KEY, API_KEY, APP_ID, startServer } from '../tests/server.mjs';
import { uploadLoad } from './loadgen.mjs';
import { RssMonitor } from './measure.mjs';

const VIPS = '/usr/bin/vips';
const VIPSHEADER = '/usr/bin/vipsheader';
const VIPSTHUMBNAIL = '/usr/bin/vipsthumbnail';
const SPEC = 'fit-in/400x400/filters:quality(80):format(webp)';
/** Frames of the animated GIF input. */
const GIF_FRAMES = 20;

/** Runs `argv` as a child of python3 and answers {ms, rssBytes, status, stdout}. */
function measured(argv) {
  const wrapper = `
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True)
ms = (time.perf_counter() - t) * 1000
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"ms": ms, "rssBytes": r.ru_maxrss * 1024, "status": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace")[-400:]}))
`;
  const r = spawnSync('python3', ['-c', wrapper, ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 wrapper failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Runs `cmd` and answers its output; throws when it fails. */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * What libvips reads in an output file, independent of the transform's own report: its size and
 * bands. `vips avg` decodes every pixel first, so a file that only has a plausible header throws.
 */
function decoded(path) {
  run(VIPS, ['avg', path]);
  const field = (name) => Number(run(VIPSHEADER, ['-f', name, path]).trim());
  return { size: [field('width'), field('height')], bands: field('bands') };
}

/**
 * A camera-like scene of `w`×`h` as an 8-bit `.v` file: per band, broad waves (what a downscale
 * keeps) plus fine noise (the detail a photo's decoder still has to work through), lightly blurred.
 */
function cameraLikeScene(dir, name, w, h) {
  const bands = [[2, 1], [3, 2], [1, 3]].map(([hf, vf], i) => {
    const p = (s) => join(dir, `${name}-${i}-${s}.v`);
    run(VIPS, ['sines', p('s'), String(w), String(h), '--hfreq', String(hf), '--vfreq', String(vf)]);
    run(VIPS, ['linear', p('s'), p('l'), '70', '128']);
    run(VIPS, ['gaussnoise', p('n'), String(w), String(h), '--sigma', '28', '--mean', '0']);
    run(VIPS, ['add', p('l'), p('n'), p('b')]);
    return p('b');
  });
  const joined = join(dir, `${name}-rgb.v`);
  run(VIPS, ['bandjoin', bands.join(' '), joined]);
  const blurred = join(dir, `${name}-blur.v`);
  run(VIPS, ['gaussblur', joined, blurred, '0.8']);
  const scene = join(dir, `${name}-scene.v`);
  run(VIPS, ['cast', blurred, scene, 'uchar']);
  return scene;
}

/** A camera-like JPEG of `w`×`h`, Q90 (`cameraLikeScene`). */
function cameraLike(dir, name, w, h) {
  const out = join(dir, `${name}.jpg`);
  run(VIPS, ['copy', cameraLikeScene(dir, name, w, h), `${out}[Q=90]`]);
  removeIntermediates(dir);
  return out;
}

/**
 * An animated GIF of `frames` frames of 800×600, as a clip from a camera would be: the view pans
 * across a camera-like scene, so every frame differs from the one before. libvips keeps an
 * animation as one tall strip of frames; gifsave (cgif, palette by libimagequant, dithered) cuts
 * it at `--page-height`. The strip is stacked two by two with `vips join`: Debian's libvips 8.14
 * crashes in `arrayjoin --across 1` of these frames (libvips issue 3835, fixed in 8.15.2).
 */
function animatedGif(dir, frames) {
  const [w, h, stepX, stepY] = [800, 600, 12, 8];
  const scene = cameraLikeScene(dir, 'clip', w + stepX * frames, h + stepY * frames);
  let strips = Array.from({ length: frames }, (_, i) => {
    const frame = join(dir, `clip-frame-${i}.v`);
    run(VIPS, ['crop', scene, frame, String(stepX * i), String(stepY * i), String(w), String(h)]);
    return frame;
  });
  for (let level = 0; strips.length > 1; level += 1) {
    strips = Array.from({ length: Math.ceil(strips.length / 2) }, (_, i) => {
      const [top, bottom] = strips.slice(2 * i, 2 * i + 2);
      if (!bottom) return top;
      const joined = join(dir, `clip-strip-${level}-${i}.v`);
      run(VIPS, ['join', top, bottom, joined, 'vertical']);
      return joined;
    });
  }
  const out = join(dir, `animated-${w}x${h}.gif`);
  run(VIPS, ['gifsave', strips[0], out, '--page-height', String(h)]);
  removeIntermediates(dir);
  return out;
}

/** The uncompressed `.v` images the inputs were made from (hundreds of MiB at 24 MP). */
function removeIntermediates(dir) {
  for (const f of readdirSync(dir)) if (f.endsWith('.v')) rmSync(join(dir, f));
}

function alphaPng(dir) {
  const out = join(dir, 'alpha-2000x1500.png');
  const rgb = join(dir, 'alpha-rgb.v');
  run(VIPS, ['xyz', rgb, '2000', '1500']);
  const four = join(dir, 'alpha-4.v');
  run(VIPS, ['bandjoin', `${rgb} ${rgb}`, four]);
  run(VIPS, ['cast', four, out, 'uchar']);
  removeIntermediates(dir);
  return out;
}

function bombPng(dir) {
  const crc = (buf) => {
    let c = ~0;
    for (const b of buf) {
      c ^= b;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0);
  ihdr.writeUInt32BE(100_000, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 << 20))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  const out = join(dir, 'bomb-100000x100000.png');
  writeFileSync(out, png);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round2 = (x) => Math.round(x * 100) / 100;

/**
 * Variants served under load, on loopback, from a devserver holding the 12 MP photo: one hot
 * variant (after its first request, every answer is a cache hit), then misses (signed URLs of
 * distinct sizes, each asked for once, so each is a decode, resize and encode). Requests/s, p50,
 * p99 and the server's peak RSS for each.
 */
async function underLoad({ bin, www, photo, dir, quick, log }) {
  const server = await startServer({ bin, www, logFile: join(dir, 'devserver-images.log'), dataDir: join(dir, 'data') });
  const rss = new RssMonitor(server.child.pid);
  try {
    const api = `${server.url}/${APP_ID}/${API_KEY}`;
    const up = await fetch(`${api}/files/load/photo.jpg?overwrite=true`, { method: 'POST', body: await readFile(photo), headers: { 'Content-Type': 'image/jpeg' } });
    if (!up.ok) throw new Error(`upload of the photo: ${up.status} ${await up.text()}`);
    const hot = `/img/${APP_ID}/unsafe/fit-in/400x400/load/photo.jpg`;
    const first = await fetch(`${server.url}${hot}`, { headers: { Accept: 'image/webp' } });
    if (first.status !== 200) throw new Error(`the hot variant: ${first.status} ${await first.text()}`);
    await first.arrayBuffer();
    const hits = await rss.measure('image-hits', () => uploadLoad({ base: server.url, paths: [hot], concurrency: 64, seconds: quick ? 3 : 10 }));
    const misses = quick ? 16 : 96;
    const paths = [];
    for (let i = 0; i < misses; i += 1) {
      const r = await fetch(`${api}/images/sign`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'user-token': ADMIN_KEY },
        body: JSON.stringify({ path: '/load/photo.jpg', width: 300 + 7 * i, format: 'webp' }),
      });
      if (!r.ok) throw new Error(`images/sign: ${r.status} ${await r.text()}`);
      const { url } = await r.json();
      const u = new URL(url);
      paths.push(u.pathname + u.search);
    }
    const miss = await rss.measure('image-misses', () => uploadLoad({ base: server.url, paths, concurrency: 8, count: misses }));
    const row = (name, { result, peakRss }) => {
      if (result.failed) throw new Error(`image ${name}: ${result.failed} of ${result.requests} failed: ${JSON.stringify(result.statusCodes)} ${JSON.stringify(result.errors)}`);
      log(`images load ${name.padEnd(6)} ${result.requestsPerSec.toFixed(0)}/s from ${result.concurrency} connections, p50 ${round2(result.p50Ms)} ms, p99 ${round2(result.p99Ms)} ms, server peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB`);
      return { connections: result.concurrency, requests: result.requests, requestsPerSec: round2(result.requestsPerSec), p50Ms: round2(result.p50Ms), p99Ms: round2(result.p99Ms), maxMs: round2(result.maxMs), serverPeakRssBytes: peakRss };
    };
    return { source: 'JPEG 4000×3000 (12 MP)', hits: row('hits', hits), misses: row('misses', miss) };
  } finally {
    rss.stop();
    await server.stop();
  }
}

/** The image part of the bench: one row per input, and the load test. */
export async function images({ bin, www, workDir, quick, log }) {
  const dir = join(workDir, 'images');
  mkdirSync(dir, { recursive: true });
  const photo = cameraLike(dir, 'photo-12mp', 4000, 3000);
  const inputs = [
    { id: 'jpeg-12mp', label: 'JPEG 4000×3000 (12 MP)', path: photo },
    { id: 'jpeg-12mp-avif', label: 'JPEG 12 MP → AVIF', path: photo, avif: true },
    ...(quick ? [] : [{ id: 'jpeg-24mp', label: 'JPEG 6000×4000 (24 MP)', path: cameraLike(dir, 'photo-24mp', 6000, 4000) }]),
    { id: 'png-alpha', label: 'PNG 2000×1500 with alpha', path: alphaPng(dir) },
    // Both tools read only the first frame (vipsthumbnail's default, and the server's rule).
    { id: 'gif-animated', label: `GIF 800×600, ${GIF_FRAMES} frames`, path: animatedGif(dir, GIF_FRAMES) },
  ];
  const runs = quick ? 1 : 5;
  const rows = [];
  for (const input of inputs) {
    const vips = [];
    const ours = [];
    const outputs = Object.fromEntries(['vips', 'ours'].map((tool) => [tool, join(dir, `${input.id}-${tool}.${input.avif ? 'avif' : 'webp'}`)]));
    for (let round = 0; round < runs; round += 1) {
      const order = round % 2 ? ['ours', 'vips'] : ['vips', 'ours'];
      for (const tool of order) {
        const out = outputs[tool];
        if (tool === 'vips') {
          const r = measured([VIPSTHUMBNAIL, input.path, '-s', '400', '-o', `${out}[Q=80]`]);
          if (r.status !== 0) throw new Error(`vipsthumbnail ${input.path}: ${r.stderr}`);
          vips.push({ ...r, bytes: statSync(out).size });
        } else {
          const r = measured([bin, 'transform', input.path, out, '--spec', input.avif ? SPEC.replace('webp', 'avif') : SPEC]);
          if (r.status !== 0) throw new Error(`stowage-devserver transform ${input.path}: ${r.stderr}`);
          ours.push({ ...r, report: JSON.parse(r.stdout) });
        }
      }
    }
    const oursFile = decoded(outputs.ours);
    const vipsFile = decoded(outputs.vips);
    const row = {
      id: input.id,
      label: input.label,
      sourceBytes: statSync(input.path).size,
      vipsMs: round2(median(vips.map((r) => r.ms))),
      vipsRssBytes: median(vips.map((r) => r.rssBytes)),
      vipsOutputBytes: vips[0].bytes,
      oursMs: round2(median(ours.map((r) => r.ms))),
      oursTransformMs: round2(median(ours.map((r) => r.report.ms))),
      // The decode alone (libjpeg-turbo at its DCT scale for a JPEG): the floor of the transform.
      oursDecodeMs: round2(median(ours.map((r) => r.report.decodeMs))),
      oursEncodeMs: round2(median(ours.map((r) => r.report.encodeMs))),
      oursRssBytes: median(ours.map((r) => r.rssBytes)),
      // The process before it read the source (binary, allocator, runtime): the peak less this
      // is the transform's own memory.
      oursBaseRssBytes: median(ours.map((r) => r.report.rssBeforeBytes)),
      oursTransformRssBytes: median(ours.map((r) => r.report.peakRssBytes - r.report.rssBeforeBytes)),
      oursOutputBytes: ours[0].report.bytes,
      oursSize: [ours[0].report.width, ours[0].report.height],
      // The output file as libvips decodes it: the size the report claims, and its bands (4: alpha).
      oursDecodedSize: oursFile.size,
      oursBands: oursFile.bands,
      vipsSize: vipsFile.size,
      vipsBands: vipsFile.bands,
    };
    row.msRatio = round2(row.oursMs / row.vipsMs);
    row.rssRatio = round2(row.oursRssBytes / row.vipsRssBytes);
    rows.push(row);
    log(`images ${input.label.padEnd(26)} vipsthumbnail ${row.vipsMs.toFixed(1)} ms ${(row.vipsRssBytes / 2 ** 20).toFixed(1)} MiB; stowage ${row.oursMs.toFixed(1)} ms (transform ${row.oursTransformMs.toFixed(1)}: decode ${row.oursDecodeMs}, encode ${row.oursEncodeMs}) ${(row.oursRssBytes / 2 ** 20).toFixed(1)} MiB; its file ${row.oursDecodedSize.join('×')}, ${row.oursBands} bands`);
  }
  // The bomb: refused from its header, in how long and with how much memory.
  const bomb = bombPng(dir);
  const refused = measured([bin, 'transform', bomb, join(dir, 'bomb.webp'), '--spec', SPEC]);
  const bombRow = {
    refused: refused.status !== 0 && /pixels/.test(refused.stderr),
    ms: round2(refused.ms),
    rssBytes: refused.rssBytes,
    message: refused.stderr.trim(),
  };
  log(`images bomb (100000×100000 PNG): refused ${bombRow.refused} in ${bombRow.ms} ms, ${(bombRow.rssBytes / 2 ** 20).toFixed(1)} MiB`);
  const load = await underLoad({ bin, www, photo, dir, quick, log });
  return { spec: SPEC, runs, rows, bomb: bombRow, load };
}

// Turns the figures into the targets of issues 5 and 8 (PASS or MISS) and the table printed on
// stdout and kept in docs/benchmarks.md.

import { GIB, MIB, sizeLabel } from './measure.mjs';

/** The page positions of the listings at scale (bench/listing.mjs). */
const POSITIONS = ['first', 'middle', 'last'];

const mib = (bytes) => (Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(1)} MiB` : 'n/a');
const fixed = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/**
 * The targets; each `{id, label, goal, value, display, status}`. `status` is PASS or MISS, or
 * N/A when the run did not measure at the target's scale (`--quick`, `--only`): a full run
 * has no N/A.
 */
export function targets(results) {
  const out = [];
  const add = (id, label, goal, value, display, pass, measuredAtScale = true) =>
    out.push({
      id,
      label,
      goal,
      value: Number.isFinite(value) ? value : null,
      display,
      status: !Number.isFinite(value) || !measuredAtScale ? 'N/A' : pass ? 'PASS' : 'MISS',
    });
  const transfers = results.browser?.transfers ?? [];
  const largest = Math.max(...transfers.map((r) => r.sizeBytes));
  const row = (variant, size) => transfers.find((r) => r.variant === variant && r.sizeBytes === size);

  const uploads = transfers.filter((r) => r.variant === 'upload');
  const worst = uploads.reduce((a, r) => (!a || r.ratioToBaseline < a.ratioToBaseline ? r : a), null);
  add(
    'upload-vs-fetch',
    'single upload() vs plain fetch (worst size)',
    '≥ 0.95×',
    worst?.ratioToBaseline,
    worst ? `${fixed(worst.ratioToBaseline, 2)}× at ${sizeLabel(worst.sizeBytes)}` : 'not measured',
    worst && worst.ratioToBaseline >= 0.95,
    largest >= GIB,
  );

  const mp = row('multipart-c4-crc32c', largest);
  add(
    'multipart-c4-crc32c',
    `uploadMultipart c=4 crc32c vs plain fetch (${mp ? sizeLabel(largest) : '?'})`,
    '≥ 1.0×',
    mp?.ratioToBaseline,
    mp ? `${fixed(mp.ratioToBaseline, 2)}×` : 'not measured',
    mp && mp.ratioToBaseline >= 1.0,
    largest >= GIB,
  );

  const heapRows = transfers.filter((r) => r.sizeBytes === largest);
  const heap = heapRows.length ? Math.max(...heapRows.map((r) => r.wasmMemoryBytes)) : NaN;
  add(
    'wasm-heap',
    `wasm heap high-water, ${Number.isFinite(largest) ? sizeLabel(largest) : '?'} transfers${largest === GIB ? '' : ' (not 1 GiB)'}`,
    '< 32 MiB',
    heap,
    mib(heap),
    heap < 32 * MIB,
    largest >= GIB,
  );

  const crc = results.browser?.checksums?.rows.find((r) => r.id === 'crc32c-compute');
  add(
    'crc32c-wasm',
    `CRC32C in wasm, the hashing alone (bytes in memory${crc ? `, ${sizeLabel(crc.sizeBytes)}` : ''})`,
    '≥ 1.4 GiB/s',
    crc?.medianMiBPerSec,
    crc ? `${fixed(crc.medianMiBPerSec / 1024, 2)} GiB/s` : 'not measured',
    crc && crc.medianMiBPerSec >= 1.4 * 1024,
    crc && crc.sizeBytes >= 64 * MIB,
  );

  const photo = results.images?.rows.find((r) => r.id === 'jpeg-12mp');
  add(
    'image-transform',
    '400 px WebP from a 12 MP JPEG: the transform alone, time and memory (peak RSS less the process before it)',
    '≤ 50 ms, ≤ 16 MiB',
    photo?.oursTransformMs,
    photo
      ? `${fixed(photo.oursTransformMs)} ms (its JPEG decode alone ${photo.oursDecodeMs === undefined ? '?' : fixed(photo.oursDecodeMs)} ms), ${mib(photo.oursTransformRssBytes)} (whole process ${mib(photo.oursRssBytes)}; vipsthumbnail ${fixed(photo.vipsMs)} ms, ${mib(photo.vipsRssBytes)})`
      : 'not measured',
    photo && photo.oursTransformMs <= 50 && photo.oursTransformRssBytes <= 16 * MIB,
    photo && results.images.runs >= 5,
  );

  const small = results.server?.smallUploads;
  add(
    'rss-64-uploads',
    'devserver peak RSS, 64 concurrent 4 KiB uploads',
    '< 100 MiB',
    small?.serverPeakRssBytes,
    mib(small?.serverPeakRssBytes),
    small && small.serverPeakRssBytes < 100 * MIB,
  );
  add(
    'small-uploads',
    'durable 4 KiB uploads/s from 64 clients, p99',
    '≥ 3000/s, p99 < 50 ms',
    small?.uploadsPerSec,
    small ? `${fixed(small.uploadsPerSec, 0)}/s, p99 ${fixed(small.p99Ms, 1)} ms` : 'not measured',
    small && small.uploadsPerSec >= 3000 && small.p99Ms < 50,
    small && small.seconds >= 10,
  );

  const large = results.server?.large ?? [];
  const big = large.reduce((a, r) => (!a || r.sizeBytes > a.sizeBytes ? r : a), null);
  add(
    'large-upload',
    `${big ? sizeLabel(big.sizeBytes) : '512 MiB'} upload through the server (nginx WebDAV PUT: ~270 MiB/s)`,
    '≥ 270 MiB/s',
    big?.uploadMiBPerSec,
    big ? `${fixed(big.uploadMiBPerSec)} MiB/s (${fixed(big.uploadToDisk, 2)}× dd)` : 'not measured',
    big && big.uploadMiBPerSec >= 270,
    big && big.sizeBytes >= 512 * MIB,
  );

  const listing = results.server?.listing;
  add(
    'listing-flat',
    `listing page time, ${listing ? `${listing.smallestCount} → ${listing.largestCount}` : '1k → 100k'} files (worst page position)`,
    '≤ 2×',
    listing?.growth,
    listing ? `${fixed(listing.growth, 2)}× (${listing.growthAt} page)` : 'not measured',
    listing && listing.growth <= 2,
    listing && listing.largestCount >= 100_000,
  );

  // Issue 8: page time flat from 1k to 1M files, by cursor in every listing, and by offset.
  const paging = results.server?.paging;
  const range = paging ? `${paging.smallestCount} → ${paging.largestCount}` : '1k → 1M';
  const growth = (g) => (g ? `${fixed(g.ratio, 2)}× (${g.listing} ${g.position} page)` : 'not measured');
  add(
    'paging-cursor',
    `listing page time by cursor, ${range} files (worst listing and page)`,
    '≤ 1.5×',
    paging?.growthCursor.ratio,
    growth(paging?.growthCursor),
    paging && paging.growthCursor.ratio <= 1.5,
    paging && paging.largestCount >= 1_000_000,
  );
  add(
    'paging-offset',
    `Backendless page time by offset, ${range} files (worst page)`,
    '≤ 1.5×',
    paging?.growthOffset.ratio,
    growth(paging?.growthOffset),
    paging && paging.growthOffset.ratio <= 1.5,
    paging && paging.largestCount >= 1_000_000,
  );
  return out;
}

/** A fixed-width table: `columns` are `[title, align]`, rows arrays of strings. */
function table(columns, rows) {
  const widths = columns.map(([title], i) => Math.max(title.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (columns[i][1] === 'r' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map(([t]) => t)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The whole report as text. */
export function render(results) {
  const m = results.machine;
  const parts = [];
  parts.push(
    `Stowage bench (${results.quick ? 'quick' : 'full'}) ${results.startedAt}, ${results.durationSec} s\n` +
      `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / GIB).toFixed(1)} GiB RAM, ${m.kernel}, ${m.chromium}, ` +
      `load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd?.join(' ') ?? '?'} at end` +
      `${m.pressureAtStart?.ioSomeAvg10 != null ? `, io pressure ${m.pressureAtStart.ioSomeAvg10}% → ${m.pressureAtEnd?.ioSomeAvg10}%` : ''}, commit ${m.commit}`,
  );

  const transfers = results.browser?.transfers;
  if (transfers?.length) {
    parts.push(
      'Browser transfers (headless Chromium, file-backed Files, release devserver on loopback; MiB/s median of runs;\n' +
        'ratios paired by round: ×fetch to plain fetch() for uploads and to plain fetch().blob() for downloads, ×XHR to plain XHR)\n' +
        table(
          [['size', 'l'], ['variant', 'l'], ['runs', 'r'], ['MiB/s', 'r'], ['×fetch', 'r'], ['×XHR', 'r'], ['server RSS', 'r'], ['wasm heap', 'r'], ['JS heap peak', 'r']],
          transfers.map((r) => [
            sizeLabel(r.sizeBytes),
            r.label,
            r.runs.length,
            fixed(r.medianMiBPerSec),
            `${fixed(r.ratioToBaseline, 2)}×`,
            r.ratioToXhr == null ? '' : `${fixed(r.ratioToXhr, 2)}×`,
            mib(r.serverPeakRssBytes),
            mib(r.wasmMemoryBytes),
            mib(r.jsHeapPeakBytes),
          ]),
        ),
    );
  }

  const sums = results.browser?.checksums;
  if (sums) {
    parts.push(
      `Checksums in Chromium on a ${sizeLabel(sums.rows[0].sizeBytes)} file-backed File (SHA-256 of wasm and crypto.subtle ${sums.sha256Agrees ? 'agree' : 'DISAGREE'})\n` +
        table([['what', 'l'], ['MiB/s', 'r']], sums.rows.map((r) => [r.label, fixed(r.medianMiBPerSec)])),
    );
  }

  const imgs = results.images;
  if (imgs) {
    parts.push(
      `Image variants, ${imgs.spec} (medians of ${imgs.runs}; whole process under the same wrapper, and the transform alone)\n` +
        table(
          [['source', 'l'], ['vipsthumbnail ms', 'r'], ['RSS', 'r'], ['stowage ms', 'r'], ['RSS', 'r'], ['× vips time', 'r'], ['× vips RSS', 'r'], ['transform ms', 'r'], ['its memory', 'r']],
          imgs.rows.map((r) => [r.label, fixed(r.vipsMs), mib(r.vipsRssBytes), fixed(r.oursMs), mib(r.oursRssBytes), `${fixed(r.msRatio, 2)}×`, `${fixed(r.rssRatio, 2)}×`, fixed(r.oursTransformMs), mib(r.oursTransformRssBytes)]),
        ) +
        `\nbomb (PNG claiming 100000×100000): ${imgs.bomb.refused ? 'refused' : 'NOT REFUSED'} in ${fixed(imgs.bomb.ms)} ms, ${mib(imgs.bomb.rssBytes)}`,
    );
  }

  const scale = results.browser?.scaling;
  if (scale) {
    parts.push(
      `Upload time by size (Stowage upload(); fit: ${fixed(scale.fit.fixedMs)} ms + ${fixed(scale.fit.msPerMiB, 3)} ms/MiB, r² ${fixed(scale.fit.r2, 3)})\n` +
        table(
          [['size', 'l'], ['median ms', 'r'], ['ms/MiB', 'r'], ['MiB/s', 'r']],
          scale.rows.map((r) => [sizeLabel(r.sizeBytes), fixed(r.medianMs), fixed(r.msPerMiB, 3), fixed(r.mibPerSec)]),
        ),
    );
  }

  const s = results.server;
  if (s?.smallUploads) {
    const lines = [];
    const u = s.smallUploads;
    lines.push(
      `4 KiB uploads, ${u.concurrency} clients, ${u.seconds} s (autocannon): ${fixed(u.uploadsPerSec, 0)} uploads/s, ` +
        `p50 ${fixed(u.p50Ms, 2)} ms, p99 ${fixed(u.p99Ms, 2)} ms, ${u.failed} failed, ${u.storedFiles} files stored; server RSS peak ${mib(u.serverPeakRssBytes)}`,
    );
    if (s.commits) {
      const c = s.commits;
      const both = (key) => (c.before && c.after ? ` (${fixed(c.before[key], 0)} before, ${fixed(c.after[key], 0)} after)` : '');
      lines.push(
        `disk, serial 4 KiB commits: ${fixed(c.writeFsyncRenamePerSec, 0)}/s write+fsync+rename${both('writeFsyncRenamePerSec')}, ` +
          `${fixed(c.withDirFsyncPerSec, 0)}/s with the directory fsync too${both('withDirFsyncPerSec')}; ` +
          `server/disk ${fixed(u.uploadsPerSec / c.writeFsyncRenamePerSec, 2)}×`,
      );
    }
    if (s.mediumUploads) {
      const c = s.mediumUploads;
      lines.push(
        `${sizeLabel(c.bodyBytes)} uploads, ${c.concurrency} clients, ${c.seconds} s (autocannon): ${fixed(c.uploadsPerSec, 1)} uploads/s = ` +
          `${fixed(c.mibPerSec)} MiB/s, p99 ${fixed(c.p99Ms, 1)} ms, ${c.failed} failed; server RSS peak ${mib(c.serverPeakRssBytes)}`,
      );
    }
    parts.push(`Server on loopback\n${lines.join('\n')}`);
  }
  if (s?.large?.length) {
    parts.push(
      'Large transfers (curl on loopback, median of runs; dd = write+fsync of the same bytes on the same disk)\n' +
        table(
          [['size', 'l'], ['upload MiB/s', 'r'], ['dd MiB/s', 'r'], ['upload/dd', 'r'], ['download MiB/s', 'r'], ['server RSS', 'r']],
          s.large.map((r) => [
            sizeLabel(r.sizeBytes),
            fixed(r.uploadMiBPerSec),
            fixed(r.ddMiBPerSec),
            `${fixed(r.uploadToDisk, 2)}×`,
            fixed(r.downloadMiBPerSec),
            mib(r.serverPeakRssBytes),
          ]),
        ),
    );
  }
  if (s?.multipart) {
    const mp = s.multipart;
    parts.push(
      `Multipart from Node, no browser (${sizeLabel(mp.sizeBytes)}, ${sizeLabel(mp.partSize)} parts, c=${mp.concurrency}, no checksum): ` +
        `parts ${fixed(mp.partsMiBPerSec)} MiB/s, complete ${fixed(mp.completeMs, 0)} ms, whole upload ${fixed(mp.wholeMiBPerSec)} MiB/s; server RSS peak ${mib(mp.serverPeakRssBytes)}`,
    );
  }
  if (s?.listing) {
    const l = s.listing;
    parts.push(
      `Listing (GET a directory, pagesize ${l.pageSize}; median ms per page; mean over 10 pages spread from first to last; files created by ${l.createdWith})\n` +
        table(
          [['files', 'r'], ['created/s', 'r'], ['first page', 'r'], ['middle page', 'r'], ['last page', 'r'], ['mean page', 'r'], ['all pages ≈', 'r']],
          l.dirs.map((d) => [
            d.count,
            fixed(d.createdPerSec, 0),
            fixed(d.firstMs, 2),
            fixed(d.middleMs, 2),
            fixed(d.lastMs, 2),
            fixed(d.walkMsPerPage, 2),
            `${fixed(d.walkEstimateMs / 1000, 1)} s`,
          ]),
        ),
    );
  }

  if (s?.paging) {
    const p = s.paging;
    const cell = (listing, count, position) => p.rows.find((r) => r.listing === listing && r.count === count && r.position === position);
    const rows = [];
    for (const l of p.listings) {
      for (const c of p.catalogs) {
        rows.push([
          l.label,
          c.count,
          ...POSITIONS.flatMap((position) => {
            const r = cell(l.id, c.count, position);
            return [fixed(r?.medianMs, 2), fixed(r?.p95Ms, 2), `${fixed(r?.ratioToSmallestFirst, 2)}×`];
          }),
        ]);
      }
    }
    const seeded = p.catalogs.map((c) => `${c.count} in ${fixed(c.seedMs / 1000)} s (${mib(c.catalogBytes)})`).join(', ');
    parts.push(
      `Listings at scale (${p.seededWith}; ${p.pageSize} per page; median and p95 ms of ${p.rounds} rounds; ` +
        `× = paired ratio to the ${p.smallestCount}-file first page of the same listing)\n` +
        `seeded: ${seeded}\n` +
        table(
          [['listing', 'l'], ['files', 'r'], ...POSITIONS.flatMap((position) => [[position, 'r'], ['p95', 'r'], ['×', 'r']])],
          rows,
        ),
    );
  }

  parts.push(
    'Targets (issues 5 and 8)\n' +
      table(
        [['target', 'l'], ['goal', 'l'], ['measured', 'l'], ['', 'l']],
        results.targets.map((t) => [t.label, t.goal, t.display, t.status]),
      ),
  );
  return parts.join('\n\n');
}

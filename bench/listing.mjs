// Listings at scale (issue 8): the time of one page of every listing API at 1k, 100k and 1M
// files, first, middle and last page, by offset and by cursor. Each catalog is made by the
// devserver's `seed` example (records without content in one directory: no uploads, so a
// million files take minutes, not hours) in a fresh data directory served by its own release
// server. Every round times every listing, page and size once, the sizes of one listing and page
// one after another, so that drift of the machine hits them alike.

import { chmodSync, copyFileSync, existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { API_KEY, APP_ID, DEFAULT_BIN, ROOT, startServer } from '../tests/server.mjs';
import { median, runOk } from './measure.mjs';

/** Entries per timed page. */
export const PAGE_SIZE = 100;
/** Entries per page of the untimed walk that collects the cursors of the middle and last page. */
const WALK_PAGE_SIZE = 1000;
/** The directory the seeded files are in. */
const DIR = 'bench';
/** The seed example as cargo builds it, next to the release server. */
export const DEFAULT_SEEDER = join(dirname(DEFAULT_BIN), 'examples', 'seed');

/** Every listing timed; `paged` is how a later page is asked for. */
export const LISTINGS = [
  { id: 'backendless-offset', label: `Backendless GET /${DIR}/?pagesize=&offset=`, paged: 'offset', ordered: true },
  { id: 'backendless-cursor', label: `Backendless GET /${DIR}/?pagesize=&cursor=`, paged: 'cursor', ordered: true },
  { id: 'cognite', label: 'Cognite POST files/list {limit, cursor}', paged: 'cursor', ordered: false },
  { id: 'bkend', label: 'bkend GET /v1/files?sort=name&limit=&cursor=', paged: 'cursor', ordered: true },
];
export const POSITIONS = ['first', 'middle', 'last'];

/** The offset of the first entry of a page: the first, the one holding the middle entry, the last full one. */
const offsetOf = (position, count) =>
  ({ first: 0, middle: Math.floor(count / 2 / PAGE_SIZE) * PAGE_SIZE, last: count - PAGE_SIZE })[position];

/** The name the seeder gave the entry at `offset` in name (and path) order. */
const nameAt = (offset) => `f${String(offset).padStart(7, '0')}.bin`;

/**
 * Builds the seed example unless `--no-build` asked to use it as it is and it is not older than
 * the release server; answers its path.
 */
export async function ensureSeeder({ build, log }) {
  const stale = !existsSync(DEFAULT_SEEDER) || (existsSync(DEFAULT_BIN) && statSync(DEFAULT_SEEDER).mtimeMs < statSync(DEFAULT_BIN).mtimeMs);
  if (build || stale) {
    log('cargo build -p stowage-devserver --release --example seed');
    await runOk('cargo', ['build', '-p', 'stowage-devserver', '--release', '--example', 'seed'], { cwd: ROOT });
  }
  return DEFAULT_SEEDER;
}

/**
 * One page of `listing`: `{ms, count, first, next}` (milliseconds to fetch and parse it, its
 * entries, the first entry's name, the next page's cursor or null). `at` is `{offset}` or
 * `{cursor}` (null for the first page).
 */
async function fetchPage(server, listing, { limit = PAGE_SIZE, offset = 0, cursor = null }) {
  let url;
  let init;
  if (listing.id.startsWith('backendless')) {
    const at = listing.paged === 'offset' ? `&offset=${offset}` : cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    url = `${server.url}/${APP_ID}/${API_KEY}/files/${DIR}/?pagesize=${limit}${at}`;
  } else if (listing.id === 'cognite') {
    url = `${server.url}/api/v1/projects/${APP_ID}/files/list`;
    init = {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(cursor ? { limit, cursor } : { limit }),
    };
  } else {
    url = `${server.url}/v1/files?sort=name&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    init = { headers: { 'X-API-Key': API_KEY } };
  }
  const started = performance.now();
  const response = await fetch(url, init);
  const body = JSON.parse(await response.text());
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${listing.id}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  const items = Array.isArray(body) ? body : body.items;
  const next = Array.isArray(body) ? response.headers.get('stowage-next-cursor') : body.nextCursor ?? null;
  return { ms, count: items.length, first: items[0]?.name, next };
}

/**
 * Walks `listing` from its start with pages of up to WALK_PAGE_SIZE (a cursor names a place,
 * not a page size), stopping at each offset of `offsets` (ascending) to keep the cursor there.
 * Answers `{cursors: Map(offset → cursor), ms, requests}`.
 */
async function collectCursors(server, listing, offsets) {
  const cursors = new Map();
  const started = performance.now();
  let at = 0;
  let cursor = null;
  let requests = 0;
  for (const target of offsets) {
    while (at < target) {
      const page = await fetchPage(server, listing, { limit: Math.min(WALK_PAGE_SIZE, target - at), cursor });
      requests += 1;
      if (!page.next || page.count === 0) throw new Error(`${listing.id}: the walk ended at ${at + page.count}, before ${target}`);
      at += page.count;
      cursor = page.next;
    }
    cursors.set(target, cursor);
  }
  return { cursors, ms: performance.now() - started, requests };
}

/** Total bytes of the files in `dir` (the catalog with its WAL). */
async function directoryBytes(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(dir, entry.name))).size;
  }
  return total;
}

/** Nearest-rank percentile `p` (0–100) of `values`. */
function percentile(values, p) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Seeds one catalog of `count` files and starts a server on it. */
async function catalog({ bin, www, seeder, workDir, count, artifacts, log }) {
  const dataDir = join(workDir, `paging-${count}`);
  const seeded = await runOk(seeder, ['--data', dataDir, '--files', String(count), '--dir', DIR, '--app', APP_ID]);
  const catalogBytes = await directoryBytes(dataDir);
  log(`paging: ${seeded.stdout.trim()}; catalog ${(catalogBytes / 2 ** 20).toFixed(1)} MiB`);
  const server = await startServer({ bin, www, dataDir, logFile: join(artifacts, `devserver-paging-${count}.log`) });
  return { count, dataDir, server, seedMs: seeded.ms, catalogBytes };
}

/** Checks that a timed page is the one asked for: full, starting at the right name, the last one last. */
function checkPage(listing, count, position, page) {
  const where = `${listing.id} ${count} ${position}`;
  if (page.count !== PAGE_SIZE) throw new Error(`${where}: ${page.count} entries, not ${PAGE_SIZE}`);
  if (listing.ordered && page.first !== nameAt(offsetOf(position, count))) {
    throw new Error(`${where}: starts at ${page.first}, not ${nameAt(offsetOf(position, count))}`);
  }
  if (position === 'last' && page.next) throw new Error(`${where}: the last page names a next one`);
  if (position !== 'last' && !page.next) throw new Error(`${where}: no next page`);
}

/**
 * Seeds a catalog of each of `counts` files, then runs `rounds` rounds of every listing ×
 * size × page position (one untimed round first). Answers the `server.paging` section.
 */
export async function paging({ bin, www, seeder, workDir, counts, rounds, artifacts, log }) {
  const catalogs = [];
  try {
    for (const count of counts) catalogs.push(await catalog({ bin, www, seeder, workDir, count, artifacts, log }));
    // Where each timed request starts: an offset, or a cursor collected by one walk.
    const starts = new Map();
    for (const c of catalogs) {
      c.walks = {};
      for (const listing of LISTINGS) {
        const offsets = POSITIONS.map((p) => offsetOf(p, c.count));
        if (listing.paged === 'offset') {
          for (const p of POSITIONS) starts.set(`${listing.id} ${c.count} ${p}`, { offset: offsetOf(p, c.count) });
          continue;
        }
        const walk = await collectCursors(c.server, listing, offsets.filter((o) => o > 0));
        c.walks[listing.id] = { ms: walk.ms, requests: walk.requests, pageSize: WALK_PAGE_SIZE };
        log(`paging ${c.count}: ${listing.id} walked to the last page in ${walk.requests} requests, ${(walk.ms / 1000).toFixed(1)} s`);
        for (const p of POSITIONS) starts.set(`${listing.id} ${c.count} ${p}`, { cursor: walk.cursors.get(offsetOf(p, c.count)) ?? null });
      }
    }
    const times = new Map([...starts.keys()].map((k) => [k, []]));
    for (let round = -1; round < rounds; round += 1) {
      // The sizes of one listing and page go one after another (so a ratio compares requests
      // made moments apart), taking turns at going first.
      const order = catalogs.map((_, i) => catalogs[(i + Math.max(round, 0)) % catalogs.length]);
      for (const listing of LISTINGS) {
        for (const position of POSITIONS) {
          for (const c of order) {
            const key = `${listing.id} ${c.count} ${position}`;
            const page = await fetchPage(c.server, listing, starts.get(key));
            checkPage(listing, c.count, position, page);
            if (round >= 0) times.get(key).push(page.ms);
          }
        }
      }
    }
    return summarize({ catalogs, times, rounds, log });
  } finally {
    for (const c of catalogs) await c.server.stop();
  }
}

/** Medians, p95 and ratios (paired by round) to the smallest catalog's first page of the same listing. */
function summarize({ catalogs, times, rounds, log }) {
  const smallest = catalogs[0].count;
  const rows = [];
  for (const listing of LISTINGS) {
    const base = times.get(`${listing.id} ${smallest} first`);
    for (const c of catalogs) {
      for (const position of POSITIONS) {
        const runs = times.get(`${listing.id} ${c.count} ${position}`);
        rows.push({
          listing: listing.id,
          count: c.count,
          position,
          medianMs: median(runs),
          p95Ms: percentile(runs, 95),
          ratioToSmallestFirst: median(runs.map((ms, i) => ms / base[i])),
          runs,
        });
      }
    }
    const line = rows
      .filter((r) => r.listing === listing.id)
      .map((r) => `${r.count} ${r.position} ${r.medianMs.toFixed(2)} ms (${r.ratioToSmallestFirst.toFixed(2)}×)`)
      .join(', ');
    log(`paging ${listing.id}: ${line}`);
  }
  // Growth: the largest ratio over listings and positions, for the cursor listings and for offset.
  const worst = (paged) => {
    const ids = LISTINGS.filter((l) => l.paged === paged).map((l) => l.id);
    const row = rows.filter((r) => ids.includes(r.listing)).reduce((a, r) => (!a || r.ratioToSmallestFirst > a.ratioToSmallestFirst ? r : a), null);
    return { ratio: row.ratioToSmallestFirst, listing: row.listing, count: row.count, position: row.position };
  };
  return {
    pageSize: PAGE_SIZE,
    rounds,
    directory: `/${DIR}/`,
    seededWith: 'the seed example of the devserver: records without content in one directory',
    listings: LISTINGS.map(({ id, label, paged }) => ({ id, label, paged })),
    catalogs: catalogs.map((c) => ({
      count: c.count,
      seedMs: c.seedMs,
      seededPerSec: c.count / (c.seedMs / 1000),
      catalogBytes: c.catalogBytes,
      walks: c.walks,
    })),
    rows,
    smallestCount: smallest,
    largestCount: catalogs[catalogs.length - 1].count,
    growthCursor: worst('cursor'),
    growthOffset: worst('offset'),
  };
}

/** Copies the seeder next to the run's copy of the server, so a rebuild meanwhile cannot change it. */
export function snapshotSeeder(seeder, workDir) {
  const copy = join(workDir, 'seed');
  copyFileSync(seeder, copy);
  chmodSync(copy, 0o755);
  return copy;
}

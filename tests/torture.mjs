#!/usr/bin/env node
// `npm run torture`: the full reliability run of docs/reliability.md. `npm test` runs the same
// tests in their short form (6 crash rounds, the fuzz targets for a few seconds each); this runs
// them long, in release builds:
//   - the kill -9 crash rounds (devserver/tests/torture.rs), 200 rounds on SQLite, then 200 on a
//     throwaway PostgreSQL cluster;
//   - the race, disk-full, vanishing-client, limit and hostile-input tests, once each;
//   - every fuzz target for 10 M executions (fuzz/).
// Flags: --rounds N (crash rounds per database, default 200), --execs N (per fuzz target,
// default 10000000), --seed N (replays one torture seed), --skip-postgres, --skip-fuzz.

import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { startPostgres } from './postgres.mjs';
import { ROOT } from './server.mjs';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '200' },
    execs: { type: 'string', default: '10000000' },
    seed: { type: 'string' },
    'skip-postgres': { type: 'boolean', default: false },
    'skip-fuzz': { type: 'boolean', default: false },
  },
});

const results = [];

function run(name, command, args, env = {}) {
  const started = Date.now();
  console.error(`[torture] ${name}: ${command} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('close', (code) => {
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      results.push({ name, ok: code === 0, seconds });
      console.error(`[torture] ${name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`} in ${seconds} s`);
      resolve(code === 0);
    });
  });
}

const crash = (database) => ({
  TORTURE_ROUNDS: flags.rounds,
  ...(flags.seed ? { TORTURE_SEED: flags.seed } : {}),
  ...(database ? { STOWAGE_TEST_DATABASE: database } : {}),
});
const cargoTest = ['test', '--release', '-p', 'stowage-devserver', '--test', 'torture', '--', '--nocapture'];

await run('crash rounds (SQLite)', 'cargo', cargoTest, crash());
if (!flags['skip-postgres']) {
  const postgres = await startPostgres({ log: (line) => console.error(`[torture] ${line}`) });
  try {
    await run(`crash rounds (${postgres.version})`, 'cargo', cargoTest, crash(postgres.url));
  } finally {
    await postgres.stop();
  }
}
await run('races, disk full, durability', 'cargo', [
  'test', '--release', '-p', 'stowage-devserver', '--test', 'races', '--test', 'durability', '--', '--nocapture',
]);
await run('limits, vanishing clients, hostile inputs', 'cargo', [
  'test', '--release', '-p', 'stowage-tests', '--test', 'limits', '--test', 'listener', '--test', 'vanishing', '--test', 'hostile', '--', '--nocapture',
]);
if (!flags['skip-fuzz']) {
  await run('fuzz targets', 'cargo', ['run', '--release', '-p', 'stowage-fuzz', '--', '--execs', flags.execs]);
}

console.error('\n[torture] summary');
for (const r of results) console.error(`  ${r.ok ? 'ok    ' : 'FAILED'} ${r.name} (${r.seconds} s)`);
const failed = results.filter((r) => !r.ok).length;
console.error(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// The cluster steps of `npm test` (group `cluster`): Stowage past one machine, on real
// distributed parts. A throwaway PostgreSQL and a 3-node Garage cluster (replication factor 3),
// then:
//   1. the server's Rust tests (Backendless, /v1, Cognite, records, multipart, access control,
//      image variants, the object-store blob tests, bytes straight to the store) with every test
//      server on PostgreSQL and Garage; the Backendless, /v1, Cognite, records, access-control
//      and image suites against two servers that take each test's requests in turn (a variant
//      one server made is served by the other from the bucket, and purged by either);
//   2. two Stowage servers sharing one database and one bucket, each talking to a different
//      Garage node, behind a round-robin balancer: the wasm browser tests in Chromium and the
//      real SDKs run against the balancer, so consecutive requests (an upload's parts, its
//      complete) land on different servers;
//   3. a third server with --direct-to-store: the wasm multipart tests in Chromium send their
//      parts straight to Garage (the bucket gets a CORS rule), and download links are Garage's;
//   4. the failure tests (tests/cluster-failures.test.mjs): a Garage node killed, a Stowage
//      server killed mid-upload, PostgreSQL restarted.

import { join } from 'node:path';
import { startBalancer } from './balancer.mjs';
import { findGarage, startGarage } from './garage.mjs';
import { createDatabase, startPostgres } from './postgres.mjs';
import { API_KEY, APP_ID, ARTIFACTS, startServer } from './server.mjs';

/** The server's test binaries that hold on any store (the disk-only ones are left out). */
const SERVER_TESTS = ['--lib', '--test', 'api', '--test', 'access', '--test', 'records', '--test', 'multipart', '--test', 'shared_catalog', '--test', 'images'];

/**
 * Runs the cluster steps with the runner's `step` and `run`. `wasm` describes the browser run:
 * `{ test: [...cargo args], env(url), engine, browserEnv, unset, check(engine, output) }`.
 */
export async function clusterSteps({ step, run, unsetDatabases, wasm, interrupted }) {
  let postgres = null;
  let garage = null;
  const servers = [];
  let balancer = null;
  const stopAll = async () => {
    await balancer?.close();
    balancer = null;
    for (const s of servers.splice(0)) await s.stop();
    await garage?.stop();
    garage = null;
    await postgres?.stop();
    postgres = null;
  };
  try {
    await step('cluster: PostgreSQL and 3 Garage nodes', async () => {
      if (!findGarage()) throw new Error('garage is not installed: scripts/setup.sh --garage');
      postgres = await startPostgres({ log: console.log, logFile: join(ARTIFACTS, 'cluster-postgres.log') });
      garage = await startGarage({ log: console.log });
      return `${postgres.version}; Garage at ${garage.endpoints.join(' ')}`;
    });
    // Two servers on the shared catalog and bucket take each API test's requests in turn
    // (stowage_devserver::testing::servers) where the suite allows it.
    const env = () => ({
      STOWAGE_TEST_DATABASE: postgres.url,
      STOWAGE_TEST_BLOBS: garage.blobsUrl,
      STOWAGE_TEST_SERVERS: '2',
      ...garage.env(0),
    });
    await step(
      'cargo test (PostgreSQL + Garage)',
      async () => {
        await run('cargo', ['test', '-p', 'stowage-devserver', ...SERVER_TESTS], { env: env(), unset: unsetDatabases });
        // Bytes straight to the store (--direct-to-store): parts and download links of Garage.
        await run('cargo', ['test', '-p', 'stowage-tests', '--test', 'direct'], { env: env(), unset: unsetDatabases });
      },
      { needs: ['cluster: PostgreSQL and 3 Garage nodes'] },
    );
    await step(
      'two servers on the cluster',
      async () => {
        if (interrupted()) throw new Error('interrupted');
        const database = await createDatabase(postgres.url, 'stowage_cluster');
        const args = ['--database', database, '--blobs', `${garage.blobsUrl}/cluster`];
        for (const [i, name] of ['a', 'b'].entries()) {
          const server = await startServer({ logFile: join(ARTIFACTS, `cluster-server-${name}.log`), args, env: garage.env(i) });
          servers.push({ ...server, args });
        }
        balancer = await startBalancer(servers.map((s) => s.url));
        return `${servers.map((s) => s.url).join(' + ')} behind ${balancer.url}`;
      },
      { needs: ['cluster: PostgreSQL and 3 Garage nodes'] },
    );
    const url = () => balancer?.url ?? '';
    await step(
      'build wasm browser tests (two servers)',
      () => run('cargo', [...wasm.test, '--no-run'], { env: wasm.env(url()) }),
      { needs: ['two servers on the cluster'] },
    );
    await step(
      'wasm browser tests (chrome, two servers)',
      async () => {
        const before = [...balancer.counts];
        const [cmd, ...args] = [...wasm.engine.wrapper, 'cargo', ...wasm.test, '--no-fail-fast', '--', '--nocapture'];
        const output = await run(cmd, args, {
          env: { ...wasm.env(url()), ...wasm.engine.driverEnv(), ...wasm.browserEnv },
          unset: wasm.unset,
          capture: true,
        });
        const served = balancer.counts.map((n, i) => n - before[i]);
        if (served.some((n) => n === 0)) throw new Error(`a server answered no request: ${served.join(' / ')}`);
        return `${wasm.check(wasm.engine, output)}; requests per server ${served.join(' / ')}`;
      },
      { needs: ['build wasm browser tests (two servers)'] },
    );
    await step(
      'SDKs against two servers',
      async () => {
        await run(process.execPath, ['--test', 'tests/cognite-sdk.test.mjs'], {
          env: { STOWAGE_URL: url(), STOWAGE_APP: APP_ID, STOWAGE_KEY: API_KEY },
        });
        await run(process.execPath, ['--test', 'tests/backendless-sdk.test.mjs'], { env: { STOWAGE_URL: url() } });
        return `requests per server ${balancer.counts.join(' / ')}`;
      },
      { needs: ['two servers on the cluster'] },
    );
    // A third server with --direct-to-store: Chromium sends the parts to Garage itself.
    let direct = null;
    await step(
      'wasm multipart tests (chrome, straight to the store)',
      async () => {
        await garage.allowBrowsers();
        direct = await startServer({
          logFile: join(ARTIFACTS, 'cluster-server-direct.log'),
          args: [...servers[0].args, '--direct-to-store'],
          env: garage.env(2),
        });
        servers.push(direct);
        const only = [...wasm.test.filter((a) => a !== '--tests'), '--test', 'multipart'];
        const env = { ...wasm.env(direct.url), STOWAGE_TEST_DIRECT: '1' };
        await run('cargo', [...only, '--no-run'], { env });
        const [cmd, ...args] = [...wasm.engine.wrapper, 'cargo', ...only, '--', '--nocapture'];
        const output = await run(cmd, args, {
          env: { ...env, ...wasm.engine.driverEnv(), ...wasm.browserEnv },
          unset: wasm.unset,
          capture: true,
        });
        const skipped = (output.match(/not run with --direct-to-store/g) ?? []).length;
        return `${wasm.check(wasm.engine, output)} (${skipped} of them test the server's part route: not run)`;
      },
      { needs: ['two servers on the cluster'] },
    );
  } finally {
    await stopAll();
  }
  // Its own deployment: it kills and restarts parts of it.
  await step('cluster failures (Garage node, Stowage server, PostgreSQL)', () =>
    run(process.execPath, ['--test', 'tests/cluster-failures.test.mjs'], { timeoutMs: 15 * 60_000 }),
  );
}

// The package as a user installs it (issue 12): `npm pack`, then fresh temp projects that `npm install` the
// tarball. Node ESM and CommonJS, strict TypeScript consumers under three tsconfigs, Deno and Bun; then one
// small page (test/package/app) built by Vite, served by Vite's dev server, bundled by esbuild and by
// webpack 5, each loaded in headless Chromium with and without COOP/COEP: it trains the fixture with init()
// on the page, with spawn(), and in the app's own worker. Each run's build and thread count must be what
// the page allows, and its loss and weights bitwise Node's for the same build and seed.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser/chromium.js';
import { serve } from './browser/server.js';
import { bin, pack, project, ROOT, run, runJSON, type Tarball } from './package/project.js';
import { serveWorkerd } from './workerd/serve.js';

type Info = { build: string; threads: number; reason: string };
type Result = { ok?: boolean; error?: string; info: Info; loss: number; hex: string; where?: string; batches?: number };

const APP = join(ROOT, 'test/package/app');
const FIXTURE = { copy: join(ROOT, 'test/browser/train-fixture.js') };
const appFiles = { ...Object.fromEntries(readdirSync(APP).map((f) => [f, { copy: join(APP, f) }])), 'train-fixture.js': FIXTURE };
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

/** Every file under `dir`, relative. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}

/** The code blocks of a markdown file whose info string is `lang`. */
function codeBlocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]);
}

/** Vite's dev server as a child process; resolves with its URL once it listens. */
async function viteDev(cwd: string): Promise<{ url: string; proc: ChildProcess; log: () => string }> {
  const proc = spawnProcess(bin('vite'), ['--host', '127.0.0.1', '--port', '0', '--strictPort'], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 300; i++) {
    const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
    if (m) return { url: m[0].replace(/\/$/, ''), proc, log: () => out };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`vite dev did not start:\n${out}`);
}

describe('the packed package, installed into fresh projects', () => {
  let tmp: string;
  let tarball: Tarball;
  let nodeDir: string;
  /** Node's results from the tarball: plain SIMD builds, and relaxed (Node 20 needs the flag). */
  let nodePlain: Result;
  let nodeRelaxed: Result;
  /** The README as shipped in the tarball. */
  let readme: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'wasmcnn-package-'));
    tarball = await pack(tmp);
    console.log(`tarball ${tarball.file.split('/').pop()}: ${tarball.size} bytes packed, ${tarball.unpackedSize} unpacked, ${tarball.files.length} files`);
    nodeDir = await project(join(tmp, 'node'), tarball, {
      'train.mjs': { copy: join(ROOT, 'test/package/node/train.mjs') },
      'require.cjs': { copy: join(ROOT, 'test/package/node/require.cjs') },
      'subpath.mjs': { copy: join(ROOT, 'test/package/node/subpath.mjs') },
      'consumer.ts': { copy: join(ROOT, 'test/package/ts/consumer.ts') },
      'train-fixture.js': FIXTURE,
    });
    readme = readFileSync(join(nodeDir, 'node_modules/wasmcnn/README.md'), 'utf8');
    nodePlain = await runJSON<Result>(process.execPath, ['train.mjs', 'init', '2', 'plain'], { cwd: nodeDir });
    nodeRelaxed = await runJSON<Result>(process.execPath, [RELAXED_FLAG, 'train.mjs', 'init', '2', 'auto'], { cwd: nodeDir });
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball: small, the files a user needs, no dangling source maps, LICENSE and metadata', () => {
    // Four wasm builds (373–409 KB each, 132–147 KB gzipped, with issue 13's layer vocabulary) are most of it.
    expect(tarball.size).toBeLessThan(900_000);
    expect(tarball.files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'ts/index.cjs', 'wasm/builds.js',
      'wasm/wasmcnn-simd.wasm', 'wasm/wasmcnn-simd-threads.wasm', 'wasm/wasmcnn-relaxed-simd.wasm', 'wasm/wasmcnn-relaxed-simd-threads.wasm',
      'ts/dist/index.js', 'ts/dist/index.browser.js', 'ts/dist/index.d.ts', 'ts/dist/remote/host.js']));
    // Nothing that is only for this repository: sources, tests, maps pointing at sources that are not shipped.
    expect(tarball.files.filter((f) => /\.map$|^ts\/src\/|^test\/|^crates\/|^bench\//.test(f))).toEqual([]);
    const pkgDir = join(nodeDir, 'node_modules/wasmcnn');
    const js = walk(pkgDir).filter((f) => f.endsWith('.js'));
    expect(js.filter((f) => readFileSync(join(pkgDir, f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ sideEffects: false, license: 'MIT', repository: { type: 'git' } });
    expect(pkg.keywords.length).toBeGreaterThan(3);
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/MIT License/);
  });

  it('the browser entry and the worker host never import node:*; the README links only shipped files', () => {
    const pkgDir = join(nodeDir, 'node_modules/wasmcnn');
    // Everything reachable from the browser entry and from the worker host, by relative static imports.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      expect(src, file).not.toMatch(/['"]node:/);
      expect(src, file).not.toMatch(/\bimport\(/);
      for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s*'(\.[^']+)'/g)) visit(join(file, '..', m[1]));
    };
    visit(join(pkgDir, 'ts/dist/index.browser.js'));
    visit(join(pkgDir, 'ts/dist/remote/host.js'));
    expect(seen.size).toBeGreaterThan(20);
    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((?!https?:|#)([^)#]+)/g)].map((m) => m[1]);
    expect(links.filter((l) => !existsSync(join(pkgDir, l)))).toEqual([]);
  });

  it('Node ESM: init() and spawn() from the tarball; the relaxed builds with the flag; the wasm subpath exports', async () => {
    expect(nodePlain.info).toMatchObject({ build: 'simd-threads', threads: 2 });
    expect(nodeRelaxed.info).toMatchObject({ build: 'relaxed-simd-threads', threads: 2 });
    const s = await runJSON<Result>(process.execPath, ['train.mjs', 'spawn', '2', 'plain'], { cwd: nodeDir });
    expect(s).toMatchObject({ where: 'worker', batches: 3, info: { build: 'simd-threads', threads: 2 }, loss: nodePlain.loss, hex: nodePlain.hex });
    const sub = await runJSON<{ path: string; info: Info }>(process.execPath, ['subpath.mjs'], { cwd: nodeDir });
    expect(sub.path).toBe(join(nodeDir, 'node_modules/wasmcnn/wasm/wasmcnn-simd.wasm'));
    expect(sub.info).toMatchObject({ build: 'simd', threads: 1 });
  });

  it("Node CommonJS: require('wasmcnn'); where require() cannot load ES modules, a message naming the Node versions", async () => {
    const r = await runJSON<Result>(process.execPath, ['require.cjs'], { cwd: nodeDir });
    expect(r).toMatchObject({ info: { build: 'simd-threads', threads: 2 }, loss: nodePlain.loss, hex: nodePlain.hex });
    // Node 20.0–20.18 and 22.0–22.11 behave as Node does with require(esm) switched off.
    await expect(run(process.execPath, ['--no-experimental-require-module', 'require.cjs'], { cwd: nodeDir })).rejects.toThrow(
      /require\('wasmcnn'\) needs Node \^20\.19\.0 or >=22\.12\.0.*await import\('wasmcnn'\)/,
    );
  });

  const TSCONFIGS = [
    { name: 'ES2022 target, no esnext lib', lib: ['ES2022', 'DOM'], module: 'node16', types: [] },
    { name: 'Node only (no DOM lib), with the README samples', lib: ['ES2022'], module: 'nodenext', types: ['node'] },
    { name: 'DOM, bundler resolution', lib: ['ESNext', 'DOM', 'DOM.Iterable'], module: 'bundler', types: [] },
  ];
  /** The three compiles, started together on first use (tsc is slow; they share the two cores). */
  let compiles: Promise<unknown>[] | undefined;
  const compile = (i: number) =>
    (compiles ??= TSCONFIGS.map(({ lib, module, types }) => {
      const samples = types.length ? codeBlocks(readme, 'ts').map((code, k) => (writeFileSync(join(nodeDir, `readme-${k}.ts`), code), `readme-${k}.ts`)) : [];
      const resolution = module === 'bundler' ? { module: 'ESNext', moduleResolution: 'bundler' } : { module, moduleResolution: module };
      const cfg = `tsconfig.${module}.json`;
      writeFileSync(join(nodeDir, cfg), JSON.stringify({
        compilerOptions: { target: 'ES2022', lib, ...resolution, strict: true, skipLibCheck: false, noEmit: true, types, typeRoots: [join(ROOT, 'node_modules/@types')] },
        files: ['consumer.ts', ...samples],
      }));
      const done = run(bin('tsc'), ['-p', cfg], { cwd: nodeDir });
      done.catch(() => {}); // awaited by its own test
      return done;
    }))[i];
  TSCONFIGS.forEach(({ name }, i) => {
    it(`TypeScript, strict, skipLibCheck off: ${name}`, async () => {
      await compile(i);
    });
  });

  it("every TypeScript sample of the shipped README runs as written against the tarball", async () => {
    const samples = codeBlocks(readme, 'ts');
    expect(samples.length).toBeGreaterThanOrEqual(5);
    for (const [i, code] of samples.entries()) {
      writeFileSync(join(nodeDir, `readme-${i}.ts`), code);
      await run(bin('tsx'), [`readme-${i}.ts`], { cwd: nodeDir });
    }
  });

  it("the README's workerd sample, bundled the way wrangler does (esbuild with its conditions, the .wasm import a module), runs in workerd", async () => {
    const sample = codeBlocks(readme, 'js').find((b) => b.includes("from 'wasmcnn/wasm/wasmcnn-simd.wasm'"));
    expect(sample).toBeDefined();
    writeFileSync(join(nodeDir, 'workerd-sample.js'), sample!);
    await run(bin('esbuild'), ['workerd-sample.js', '--bundle', '--format=esm', '--platform=browser', '--conditions=workerd,worker',
      '--external:wasmcnn/wasm/*', '--outfile=out/workerd/worker.js'], { cwd: nodeDir });
    const { url, close } = await serveWorkerd([
      { name: 'worker.js', kind: 'esModule', file: join(nodeDir, 'out/workerd/worker.js') },
      { name: 'wasmcnn/wasm/wasmcnn-simd.wasm', kind: 'wasm', file: join(nodeDir, 'node_modules/wasmcnn/wasm/wasmcnn-simd.wasm') },
    ]);
    try {
      expect(await (await fetch(url)).json()).toMatchObject({ build: 'simd', threads: 1, simd: true });
    } finally {
      close();
    }
  });

  it('the public .d.ts has no internal members', () => {
    const pkgDir = join(nodeDir, 'node_modules/wasmcnn');
    const internal = walk(pkgDir)
      .filter((f) => f.endsWith('.d.ts'))
      .flatMap((f) => [...readFileSync(join(pkgDir, f), 'utf8').matchAll(/^\s+(?:readonly |get |static |protected )*(_[A-Za-z]\w*)/gm)].map((m) => `${f}: ${m[1]}`));
    expect(internal).toEqual([]);
  });

  it('Deno: init() and spawn() from the tarball, same numbers; without --allow-read, a message that says so', async () => {
    const deno = bin('deno');
    const flags = ['run', '--allow-read', '--allow-env'];
    const r = await runJSON<Result>(deno, [...flags, 'train.mjs', 'init', '2', 'plain'], { cwd: nodeDir });
    expect(r).toMatchObject({ info: { build: 'simd-threads', threads: 2 }, loss: nodePlain.loss, hex: nodePlain.hex });
    const s = await runJSON<Result>(deno, [...flags, 'train.mjs', 'spawn', '2', 'plain'], { cwd: nodeDir });
    expect(s).toMatchObject({ where: 'worker', info: { build: 'simd-threads', threads: 2 }, hex: nodePlain.hex });
    await expect(run(deno, ['run', '--allow-env', 'train.mjs', 'init', '1', 'plain'], { cwd: nodeDir })).rejects.toThrow(/no permission to read it \(Deno: run with --allow-read/);
  });

  it('Bun: init() and spawn() from the tarball, same numbers', async () => {
    const r = await runJSON<Result>(bin('bun'), ['train.mjs', 'init', '2', 'plain'], { cwd: nodeDir });
    expect(r).toMatchObject({ info: { build: 'simd-threads', threads: 2 }, loss: nodePlain.loss, hex: nodePlain.hex });
    const s = await runJSON<Result>(bin('bun'), ['train.mjs', 'spawn', '2', 'plain'], { cwd: nodeDir });
    expect(s).toMatchObject({ where: 'worker', info: { build: 'simd-threads', threads: 2 }, hex: nodePlain.hex });
  });

  describe('bundled apps in headless Chromium', () => {
    let browser: Browser;
    const servers: { url: string; close: () => Promise<void> }[] = [];
    const devs: { proc: ChildProcess; log: () => string }[] = [];
    /** setup → isolated or not → the page's URL. */
    const pages: Record<string, { isolated: string; plain: string }> = {};
    const matrix: string[] = [];

    beforeAll(async () => {
      const bundles = await project(join(tmp, 'bundles'), tarball, appFiles);
      const vitePlain = project(join(tmp, 'vite-dev'), tarball, appFiles);
      // The README's own vite.config.js: the COOP/COEP headers, nothing else.
      const viteConfig = codeBlocks(readme, 'js').find((b) => b.startsWith('// vite.config.js'));
      expect(viteConfig).toBeDefined();
      const viteIsolated = project(join(tmp, 'vite-dev-coi'), tarball, { ...appFiles, 'vite.config.js': viteConfig! });
      const pkgDir = join(bundles, 'node_modules/wasmcnn');
      const builds = {
        // No config: what `vite build` does with an index.html.
        vite: () => run(bin('vite'), ['build', '--outDir', 'out/vite', '--logLevel', 'warn'], { cwd: bundles }),
        // esbuild leaves new URL(…, import.meta.url) as written: the worker host is a second entry point and
        // the wasm files are copied beside the bundle (the README's recipe).
        esbuild: async () => {
          await run(bin('esbuild'), ['main.js', 'worker.js', 'wasmcnn/host', '--bundle', '--format=esm', '--platform=browser', '--outdir=out/esbuild', '--entry-names=[name]'], { cwd: bundles });
          for (const f of readdirSync(join(pkgDir, 'wasm')).filter((f) => f.endsWith('.wasm'))) cpSync(join(pkgDir, 'wasm', f), join(bundles, 'out/esbuild', f));
          cpSync(join(bundles, 'index.html'), join(bundles, 'out/esbuild/index.html'));
        },
        // No config either: webpack 5 bundles the workers and emits the wasm as assets by itself.
        webpack: async () => {
          await run(bin('webpack'), ['--entry', './main.js', '--mode', 'production', '--output-path', 'out/webpack'], { cwd: bundles });
          cpSync(join(bundles, 'index.html'), join(bundles, 'out/webpack/index.html'));
        },
      };
      const [viteLog] = await Promise.all([builds.vite(), builds.esbuild(), builds.webpack()]);
      // Vite warned 44 times about source maps pointing at missing sources before the package stopped shipping them.
      expect(viteLog.stdout + viteLog.stderr).not.toMatch(/sourcemap|warn/i);
      for (const setup of ['vite', 'esbuild', 'webpack']) {
        const root = join(bundles, 'out', setup);
        const [isolated, plain] = [await serve(true, root, ['']), await serve(false, root, [''])];
        servers.push(isolated, plain);
        pages[`${setup} build`] = { isolated: isolated.url, plain: plain.url };
      }
      const [devPlain, devIsolated] = await Promise.all([viteDev(await vitePlain), viteDev(await viteIsolated)]);
      devs.push(devPlain, devIsolated);
      pages['vite dev'] = { isolated: devIsolated.url, plain: devPlain.url };
      browser = await launchChromium();
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await Promise.all(servers.map((s) => s.close()));
      for (const d of devs) d.proc.kill();
      console.log(['| setup | page | run | build | threads | loss | pass |', '|---|---|---|---|---|---:|---|', ...matrix].join('\n'));
    });

    // Each run and what the page allows: the main thread may not block (init() there is single-threaded),
    // and only an isolated page has SharedArrayBuffer.
    const RUNS = [
      { run: 'init', how: 'init', opts: { threads: 2 }, threaded: false },
      { run: 'spawn', how: 'spawn', opts: { threads: 2 }, threaded: true },
      { run: 'own worker', how: 'worker', opts: { threads: 2 }, threaded: true },
      { run: 'own worker, relaxedSimd: false', how: 'worker', opts: { threads: 2, relaxedSimd: false }, threaded: true },
    ];

    for (const setup of ['vite build', 'vite dev', 'esbuild', 'webpack']) {
      for (const isolated of [true, false]) {
        it(`${setup}, ${isolated ? 'COOP/COEP' : 'no isolation'}: init, spawn and the app's own worker train to Node's numbers`, async () => {
          const key = setup === 'esbuild' || setup === 'webpack' ? `${setup} build` : setup;
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on('pageerror', (e) => errors.push(e.message));
          try {
            await page.goto(`${pages[key][isolated ? 'isolated' : 'plain']}/`);
            await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 30_000 });
            expect(await page.evaluate(() => (window as unknown as { isolated: boolean }).isolated)).toBe(isolated);
            for (const r of RUNS) {
              const got: Result = await page.evaluate(([how, opts]) => (window as unknown as { run(h: string, o: object): Promise<Result> }).run(how as string, opts as object), [r.how, r.opts] as const);
              const relaxed = r.opts.relaxedSimd !== false;
              const threads = r.threaded && isolated ? 2 : 1;
              const build = `${relaxed ? 'relaxed-' : ''}simd${threads > 1 ? '-threads' : ''}`;
              const node = relaxed ? nodeRelaxed : nodePlain;
              const pass = got.ok === true && got.info?.build === build && got.info.threads === threads && got.loss === node.loss && got.hex === node.hex;
              matrix.push(`| ${setup} | ${isolated ? 'isolated' : 'not isolated'} | ${r.run} | ${got.info?.build ?? '—'} | ${got.info?.threads ?? '—'} | ${got.loss ?? got.error} | ${pass ? 'pass' : 'FAIL'} |`);
              expect(got.error, `${r.run}`).toBeUndefined();
              expect(got.info, r.run).toMatchObject({ build, threads });
              if (r.how === 'spawn') expect(got).toMatchObject({ where: 'worker', batches: 3 });
              expect(got.loss, r.run).toBe(node.loss);
              expect(got.hex, r.run).toBe(node.hex);
            }
            expect(errors).toEqual([]);
          } finally {
            await page.close();
          }
        }, 120_000);
      }
    }

    it('the Vite dev server reported no source-map or dependency warnings', () => {
      for (const d of devs) expect(d.log()).not.toMatch(/sourcemap|does not exist|error/i);
    });
  });
});

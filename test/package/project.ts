// Fresh temp projects that install the packed tarball, as a new user's would. The package comes only from
// the tarball and is never touched after `npm install`; the tools (bundlers, runtimes, tsc) are this repo's.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const exec = promisify(execFile);

/** Runs a command; resolves with its output, or rejects with its stderr in the message. */
export async function run(cmd: string, args: string[], opts: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    const r = await exec(cmd, args, { timeout: 120_000, maxBuffer: 16 << 20, encoding: 'utf8', ...opts, env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string; code?: unknown; signal?: unknown };
    throw new Error(`${cmd} ${args.join(' ')} failed (${String(err.code ?? err.signal)}): ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** The last line of a command's output, parsed as JSON. */
export async function runJSON<T>(cmd: string, args: string[], opts: ExecFileOptions = {}): Promise<T> {
  const { stdout } = await run(cmd, args, opts);
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export interface Tarball {
  file: string;
  /** Bytes of the .tgz, and of its files unpacked. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/** `npm pack` of this repository (its `files` field decides what goes in). */
export async function pack(dest: string): Promise<Tarball> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT });
  const [r] = JSON.parse(stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  return { file: join(dest, r.filename), size: r.size, unpackedSize: r.unpackedSize, files: r.files.map((f) => f.path) };
}

/** A new project in `dir`: its package.json, the files given (relative path → source file or text), then the tarball installed. */
export async function project(dir: string, tarball: Tarball, files: Record<string, string | { copy: string }> = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  for (const [path, src] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    if (typeof src === 'string') writeFileSync(join(dir, path), src);
    else cpSync(src.copy, join(dir, path), { recursive: true });
  }
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball.file], { cwd: dir });
  return dir;
}

// Safetensors files on disk, for Node (and Deno / Bun through their node: modules). Kept apart from
// safetensors.ts so that bundles for browsers and workers never see a node: import.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import {
  parseSafetensors, serializeSafetensors, type ParseOptions, type SafetensorsFile, type SerializeOptions, type TensorEntries,
} from './safetensors.js';

/** Reads and parses a safetensors file; errors name the path. */
export async function loadSafetensorsFile(path: string, opts: ParseOptions = {}): Promise<SafetensorsFile> {
  const bytes = await readFile(path);
  return parseSafetensors(bytes, { where: opts.where ?? `safetensors file '${path}'` });
}

/**
 * Writes a safetensors file (see serializeSafetensors). The bytes go to a temporary file beside `path`,
 * renamed over it once complete, so an interrupted save never leaves a truncated file at `path`.
 */
export async function saveSafetensorsFile(
  path: string, tensors: TensorEntries, metadata?: Readonly<Record<string, string>> | null, opts: SerializeOptions = {},
): Promise<void> {
  const bytes = serializeSafetensors(tensors, metadata, { where: opts.where ?? `safetensors file '${path}'` });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

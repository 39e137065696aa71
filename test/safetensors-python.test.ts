// Files written here, read by the official Python package and torch (test/golden/check_safetensors.py):
// same metadata, dtypes, shapes and bytes, the same bytes as safetensors.torch.save writes, and optimizer
// state that, after a trip through this package, lets torch take its next step bit for bit. Runs where a
// Python with torch and safetensors exists (scripts/setup-python.sh installs them for `npm test`; without
// them it reports itself skipped, and the committed fixtures still carry the proof).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { optimizerStateFromSafetensors, optimizerStateToSafetensors } from '../ts/src/io/optim-state.js';
import { parseSafetensors, serializeSafetensors, type NamedTensorEntry } from '../ts/src/io/safetensors.js';
import { fixture } from './safetensors-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(ROOT, 'test', 'golden', 'check_safetensors.py');
const PYTHON = [join(ROOT, '.venv', 'bin', 'python'), 'python3'].find((p) => spawnSync(p, ['-c', 'import safetensors, torch'], { stdio: 'ignore' }).status === 0);

describe.skipIf(PYTHON === undefined)('files written here load in Python (safetensors + torch)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcnn-st-py-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every torch dtype, 0-dim and empty tensors, metadata; and optimizer state continues training', () => {
    const entries: NamedTensorEntry[] = [
      { name: 'conv.weight', dtype: 'F32', shape: [2, 1, 2, 2], data: Float32Array.from({ length: 8 }, (_, i) => Math.sin(i) * 1e3) },
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: [42] },
      { name: 'big', dtype: 'I64', shape: [2], data: [-(2n ** 63n), 2n ** 62n] },
      { name: 'half', dtype: 'F16', shape: [3], bytes: new Uint8Array([0x00, 0x3c, 0x01, 0x00, 0x00, 0xfc]) },
      { name: 'brain', dtype: 'BF16', shape: [2], bytes: new Uint8Array([0x80, 0x3f, 0x80, 0xff]) },
      { name: 'double', dtype: 'F64', shape: [2], data: [0.1, -1e300] },
      { name: 'i32', dtype: 'I32', shape: [1], data: [-7] },
      { name: 'i16', dtype: 'I16', shape: [1], data: [300] },
      { name: 'i8', dtype: 'I8', shape: [1], data: [-100] },
      { name: 'u8', dtype: 'U8', shape: [2], data: [0, 255] },
      { name: 'mask', dtype: 'BOOL', shape: [2], data: [true, false] },
      { name: 'nothing', dtype: 'F32', shape: [0, 3], data: [] },
      { name: 'scalar', dtype: 'F32', shape: [], data: [2.5] },
      // Escapes and order: JSON escaping as serde_json's, names sorted by UTF-8 bytes as Rust's String.
      { name: 'a "quoted"\\name\n\u0001\u007f', dtype: 'U8', shape: [1], data: [1] },
      { name: '😀', dtype: 'U8', shape: [1], data: [2] },
      { name: '～', dtype: 'U8', shape: [1], data: [3] },
    ];
    // One metadata key, so the official writer's header is deterministic and can be compared byte for byte.
    const metadata = { 'note ✓': 'é "q" \\ \n\t\u0001\u001f\u007f\u2028' };
    const bytes = serializeSafetensors(entries, metadata);
    writeFileSync(join(dir, 'ours.safetensors'), bytes);
    const parsed = parseSafetensors(bytes);
    const tensors = Object.fromEntries([...parsed.tensors].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(t.bytes).toString('hex') }]));
    writeFileSync(join(dir, 'ours.json'), JSON.stringify({ metadata, tensors }));
    for (const name of ['adam', 'rmsprop']) {
      const s = optimizerStateFromSafetensors(parseSafetensors(fixture(`optim_${name}.safetensors`)));
      const out = optimizerStateToSafetensors(s);
      writeFileSync(join(dir, `optim_${name}.safetensors`), serializeSafetensors(out.tensors, out.metadata));
    }
    const r = spawnSync(PYTHON!, [SCRIPT, dir], { encoding: 'utf8' });
    const report = `${r.stdout}${r.stderr}`;
    expect(report).not.toMatch(/FAIL|Traceback/);
    expect(r.status).toBe(0);
    expect(report.match(/^ok /gm)?.length).toBe(2 + entries.length + 1 + 2);
  });
});

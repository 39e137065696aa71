// For gen_trained_to_torch.py: trains test/trained-to-torch-setup.ts's models and writes each one's
// safetensors and the probe batch. Usage: npx tsx test/golden/trained-export.ts <out-dir>
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeSafetensors } from '../../ts/src/index.js';
import { CASES, data, engine, train } from '../trained-to-torch-setup.js';

const out = process.argv[2];
const e = await engine();
const files: Record<string, string> = {};
for (const c of CASES) {
  using m = await train(e, c.spec);
  const bytes = m.saveWeights();
  writeFileSync(join(out, `${c.name}.safetensors`), bytes);
  files[c.name] = createHash('sha256').update(bytes).digest('hex');
}
writeFileSync(join(out, 'probe.safetensors'), serializeSafetensors({ probe: { dtype: 'F32', shape: [8, 3, 32, 32], data: data().probe } }));
console.log(JSON.stringify({ cases: CASES.map((c) => ({ name: c.name, torch: c.torch, sha256: files[c.name] })) }));
await e.terminate();

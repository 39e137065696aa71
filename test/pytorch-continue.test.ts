// Users who outgrow one machine continue in PyTorch's distributed training: examples/to-pytorch.ts trains
// LeNet here and writes the model, Adam's state (torch.optim's names), the data and a probe batch;
// examples/continue_in_pytorch.py loads them with strict=True into torch, checks the probe loss equals
// ours, takes one DistributedDataParallel Adam step on 2 CPU processes (gloo, localhost) that must equal our
// next step, and trains on. Runs where a Python with torch and safetensors exists (scripts/setup-python.sh
// installs them for `npm test`; without them it reports itself skipped).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = [join(root, '.venv', 'bin', 'python'), 'python3'].find((p) => spawnSync(p, ['-c', 'import safetensors, torch, torch.distributed'], { stdio: 'ignore' }).status === 0);

describe.skipIf(PYTHON === undefined)('continue in PyTorch (DDP, 2 CPU processes)', () => {
  it('the probe loss matches, one DDP Adam step equals ours, and the loss curve goes on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmcnn-ddp-'));
    try {
      const tsx = join(root, 'node_modules', '.bin', 'tsx');
      const a = spawnSync(tsx, [join(root, 'examples', 'to-pytorch.ts'), dir], { encoding: 'utf8', timeout: 240_000 });
      expect(a.status, a.stderr).toBe(0);
      const b = spawnSync(PYTHON!, [join(root, 'examples', 'continue_in_pytorch.py'), dir, '--steps', '20'], { encoding: 'utf8', timeout: 240_000 });
      console.log(b.stderr.trim().split('\n').at(-1));
      expect(b.status, b.stderr).toBe(0);
      const r = JSON.parse(b.stdout.trim().split('\n').at(-1)!) as { probe_loss: number; wasmcnn_probe_loss: number; max_step_error: number; losses: number[] };
      expect(Math.abs(r.probe_loss - r.wasmcnn_probe_loss)).toBeLessThanOrEqual(1e-5 * r.wasmcnn_probe_loss);
      expect(r.max_step_error).toBeLessThanOrEqual(1e-5);
      // The curve continues where ours left off (our last epoch averaged ~0.2), not from an untrained 2.3.
      expect(Math.max(...r.losses)).toBeLessThan(0.6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

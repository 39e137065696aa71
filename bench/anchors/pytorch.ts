// The native PyTorch anchor's client: one long-lived `python3 bench/anchors/pytorch.py --threads N` process
// per thread count (so torch.set_num_threads holds for its life), asked for one run at a time over a JSON-line
// pipe. While it runs, this process only waits, and while our engines run it only waits: the two never share
// the cores. Without Python or torch, start() says why and the bench has no PyTorch rows.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The models bench/anchors/pytorch.py knows (its MODELS). */
export type TorchModel = 'lenet' | 'cifar-small' | 'resnet20' | 'mobilenetv2';

export interface TorchTrainRequest {
  model: TorchModel;
  batch: number;
  /** Samples of warm-up steps before the timed ones. */
  warmup: number;
  /** Samples timed (also the data's size). */
  samples: number;
  shuffle?: boolean;
  seed?: number;
}

interface Ready {
  ready: true;
  torch: string;
  torchvision: string;
  threads: number;
  config: string[];
}

const SCRIPT = fileURLToPath(new URL('./pytorch.py', import.meta.url));
/** Debian's interpreter with python3-torch, unless BENCH_PYTHON names another. */
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

/** How the process ended, with the last line it wrote to stderr (once all of it has arrived). */
async function howItEnded(proc: ChildProcessWithoutNullStreams, stderr: string[]): Promise<string> {
  if (proc.pid === undefined) return 'never started';
  if (proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit');
  if (!proc.stderr.readableEnded) await once(proc.stderr, 'end');
  const line = stderr.join('').trim().split('\n').at(-1);
  return `${proc.signalCode ?? `code ${proc.exitCode}`}${line ? `: ${line}` : ''}`;
}

export class TorchAnchor {
  readonly version: string;
  readonly threads: number;
  /** torch.__config__'s lines that decide CPU speed (oneDNN, BLAS, OpenMP, CPU capability, threads). */
  readonly config: string[];
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: string[];

  private constructor(proc: ChildProcessWithoutNullStreams, lines: AsyncIterator<string>, stderr: string[], ready: Ready) {
    this.#proc = proc;
    this.#lines = lines;
    this.#stderr = stderr;
    this.version = ready.torch;
    this.threads = ready.threads;
    this.config = ready.config;
  }

  /** Starts the anchor on `threads` threads; a string says why there is none. */
  static async start(threads: number): Promise<TorchAnchor | string> {
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
    const proc = spawn(PYTHON, [SCRIPT, '--threads', String(threads)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    proc.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    // A write to a dead process fails here; the request then sees the pipe's end and says the process exited.
    proc.stdin.on('error', () => {});
    const failed = new Promise<string>((resolve) => proc.on('error', (e) => resolve(`${PYTHON}: ${e.message}`)));
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next(), failed]);
    if (typeof first === 'string') return `PyTorch not installed: no PyTorch rows (${first})`;
    const msg = first.done ? { error: `PyTorch anchor failed to start: no PyTorch rows (${PYTHON} exited, ${await howItEnded(proc, stderr)})` } : JSON.parse(first.value);
    if (!msg.ready) {
      proc.kill();
      return String(msg.error);
    }
    return new TorchAnchor(proc, lines, stderr, msg as Ready);
  }

  get build(): string {
    return `torch ${this.version}`;
  }

  async #ask<T>(req: object): Promise<T> {
    this.#proc.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await this.#lines.next();
    if (next.done) throw new Error(`PyTorch anchor (${this.threads}-thread process) exited, ${await howItEnded(this.#proc, this.#stderr)}`);
    const res = JSON.parse(next.value);
    if (res.error) throw new Error(`PyTorch anchor: ${res.error}`);
    return res as T;
  }

  /** The model's state_dict keys and shapes (to check it is our architecture). */
  keys(model: TorchModel): Promise<[string, number[]][]> {
    return this.#ask<{ keys: [string, number[]][] }>({ op: 'keys', model }).then((r) => r.keys);
  }

  train(req: TorchTrainRequest): Promise<{ samples: number; seconds: number; samplesPerSec: number }> {
    return this.#ask({ op: 'train', ...req });
  }

  /** Ends the process (its stdin closes; the script's loop ends). */
  close(): void {
    this.#proc.stdin.end();
  }
}

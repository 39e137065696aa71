// A model definition (plain JSON, layers and containers) compiled to a graph of nodes: every op gets its
// PyTorch module path — children without a name take their index, as in torch.nn.Sequential — so the
// parameters' full names are its torchvision twin's state_dict keys (`layer1.0.downsample.1.running_mean`).
// Everything is validated here, before anything is allocated; errors name the path.
import { checkKeys, describe } from '../errors.js';
import { getOp } from './ops/registry.js';
import type { LayerSpec } from './layer-spec.js';
import { fmt, type Decl, type OpDef, type Shape } from './ops/op.js';

/** A layer or container as given: typed for users (`LayerSpec`), checked here as unknown JSON. */
export type LayerSpecJSON = LayerSpec;

export interface GraphNode {
  /** The module path (`layer1.0.conv1`); a merge node carries its container's path. */
  path: string;
  type: string;
  op: OpDef;
  attrs: unknown;
  inputs: number[];
  output: number;
  params: Decl[];
  state: Decl[];
}

export interface Graph {
  /** Per-sample shape of every value; value 0 is the model's input. */
  values: Shape[];
  /** In execution order (every node after its inputs' producers). */
  nodes: GraphNode[];
  /** The definition with every default filled in and every name resolved (what toJSON writes). */
  layers: LayerSpecJSON[];
  output: number;
}

const join = (prefix: string, name: string) => (prefix === '' ? name : `${prefix}.${name}`);
const at = (path: string, type: string) => `'${path}' (${type})`;

class Builder {
  readonly values: Shape[] = [];
  readonly nodes: GraphNode[] = [];

  constructor(input: Shape) {
    this.values.push(input);
  }

  node(path: string, type: string, spec: Readonly<Record<string, unknown>>, inputs: number[]): { out: number; spec: Record<string, unknown> } {
    const where = at(path, type);
    const op = getOp(where, type);
    if (op.arity !== 'many') checkKeys(where, spec, ['type', 'name', ...op.keys]);
    const built = op.build(where, spec, inputs.map((v) => this.values[v]));
    const out = this.values.push(built.out) - 1;
    this.nodes.push({ path, type, op, attrs: built.attrs, inputs, output: out, params: built.params, state: built.state });
    return { out, spec: built.spec };
  }

  /** A list of children under `prefix`; returns the last value and the resolved specs. */
  seq(prefix: string, layers: unknown, input: number, where: string): { out: number; specs: LayerSpecJSON[] } {
    if (!Array.isArray(layers)) throw new TypeError(`${where}: layers must be an array, got ${describe(layers)}`);
    const names = new Set<string>();
    const specs: LayerSpecJSON[] = [];
    let v = input;
    layers.forEach((child, i) => {
      const r = this.child(prefix, child, i, v, names);
      v = r.out;
      specs.push(r.spec);
    });
    return { out: v, specs };
  }

  child(prefix: string, child: unknown, index: number, input: number, names: Set<string>): { out: number; spec: LayerSpecJSON } {
    const place = prefix === '' ? `layer ${index}` : `'${join(prefix, String(index))}'`;
    if (typeof child !== 'object' || child === null || Array.isArray(child)) {
      throw new TypeError(`${place}: expected a layer spec object, got ${describe(child)}`);
    }
    const s = child as { type?: unknown; name?: unknown };
    if (s.name !== undefined && (typeof s.name !== 'string' || s.name === '' || s.name.includes('.'))) {
      throw new TypeError(`${place}: name must be a non-empty string without '.', got ${describe(s.name)}`);
    }
    const name = (s.name as string | undefined) ?? String(index);
    const path = join(prefix, name);
    if (names.has(name)) throw new RangeError(`'${path}': duplicate name '${name}' in '${prefix || 'the model'}'`);
    names.add(name);
    if (typeof s.type !== 'string') throw new TypeError(`${place}: type must be a layer or container name, got ${describe(s.type)}`);
    const spec = child as Record<string, unknown>;
    switch (s.type) {
      case 'sequential': {
        checkKeys(at(path, 'sequential'), spec, ['type', 'name', 'layers']);
        const r = this.seq(path, spec.layers, input, at(path, 'sequential'));
        return { out: r.out, spec: { type: 'sequential', name, layers: r.specs } };
      }
      case 'residual':
        return this.residual(path, name, spec, input);
      case 'concat':
        return this.concat(path, name, spec, input);
      case 'gate': {
        checkKeys(at(path, 'gate'), spec, ['type', 'name', 'layers']);
        const r = this.seq(path, spec.layers, input, at(path, 'gate'));
        const m = this.node(path, 'mul', { type: 'mul' }, [input, r.out]);
        return { out: m.out, spec: { type: 'gate', name, layers: r.specs } };
      }
      default: {
        const r = this.node(path, s.type, spec, [input]);
        return { out: r.out, spec: { ...r.spec, type: s.type, name } as LayerSpecJSON };
      }
    }
  }

  residual(path: string, name: string, spec: Record<string, unknown>, input: number): { out: number; spec: LayerSpecJSON } {
    const where = at(path, 'residual');
    checkKeys(where, spec, ['type', 'name', 'main', 'shortcut', 'shortcutName', 'activation']);
    const scName = spec.shortcutName ?? 'downsample';
    if (typeof scName !== 'string' || scName === '' || scName.includes('.')) throw new TypeError(`${where}: shortcutName must be a name without '.', got ${describe(scName)}`);
    const main = this.seq(path, spec.main, input, where);
    const taken = new Set((spec.main as { name?: string }[]).map((c, i) => c.name ?? String(i)));
    let sc = { out: input, specs: null as LayerSpecJSON[] | null };
    if (spec.shortcut !== undefined && spec.shortcut !== null) {
      if (taken.has(scName)) throw new RangeError(`${where}: the shortcut's name '${scName}' is taken by a main-branch layer`);
      sc = this.seq(join(path, scName), spec.shortcut, input, at(join(path, scName), 'shortcut'));
    }
    const [a, b] = [this.values[main.out], this.values[sc.out]];
    if (fmt(a) !== fmt(b)) {
      const who = sc.specs ? `'${join(path, scName)}'` : `'${path}': the identity shortcut`;
      throw new RangeError(`${who}: output ${fmt(b)} cannot add to main branch ${fmt(a)}`);
    }
    let out = this.node(path, 'add', { type: 'add' }, [main.out, sc.out]).out;
    const resolved: Record<string, unknown> = { type: 'residual', name, main: main.specs };
    if (sc.specs) Object.assign(resolved, { shortcut: sc.specs, shortcutName: scName });
    if (spec.activation !== undefined) {
      if (typeof spec.activation !== 'string') throw new TypeError(`${where}: activation must be a layer type like 'relu', got ${describe(spec.activation)}`);
      out = this.node(join(path, spec.activation), spec.activation, { type: spec.activation }, [out]).out;
      resolved.activation = spec.activation;
    }
    return { out, spec: resolved as unknown as LayerSpecJSON };
  }

  concat(path: string, name: string, spec: Record<string, unknown>, input: number): { out: number; spec: LayerSpecJSON } {
    const where = at(path, 'concat');
    checkKeys(where, spec, ['type', 'name', 'branches']);
    if (!Array.isArray(spec.branches) || spec.branches.length < 2) {
      throw new TypeError(`${where}: branches must be an array of at least 2 branches, got ${describe(spec.branches)}`);
    }
    const names = new Set<string>();
    const outs: number[] = [];
    const specs = spec.branches.map((br: unknown, i: number) => {
      const named = typeof br === 'object' && br !== null && !Array.isArray(br);
      const bname = named ? ((br as { name?: string }).name ?? String(i)) : String(i);
      if (names.has(bname)) throw new RangeError(`${where}: duplicate branch name '${bname}'`);
      names.add(bname);
      if (named) checkKeys(`${where}: branch ${i}`, br as object, ['name', 'layers']);
      const r = this.seq(join(path, bname), named ? (br as { layers: unknown }).layers : br, input, `${where}: branch ${i}`);
      outs.push(r.out);
      return named ? { name: bname, layers: r.specs } : r.specs;
    });
    return { out: this.node(path, 'concat', { type: 'concat' }, outs).out, spec: { type: 'concat', name, branches: specs } };
  }
}

/** Compiles a model's layers over its per-sample input shape; throws (naming the path) on any error. */
export function compileGraph(inputShape: Shape, layers: unknown): Graph {
  const b = new Builder(inputShape);
  if (!Array.isArray(layers) || layers.length === 0) throw new TypeError(`Model: layers must be a non-empty array, got ${describe(layers)}`);
  const r = b.seq('', layers, 0, 'Model');
  return { values: b.values, nodes: b.nodes, layers: r.specs, output: r.out };
}

/** One entry of the model's state_dict, in torch's order (module order; a module's parameters, then its buffers). */
export interface StateEntry {
  name: string;
  shape: number[];
  kind: 'param' | 'buffer';
  node: number;
  decl: Decl;
}

export function stateEntries(g: Graph): StateEntry[] {
  const out: StateEntry[] = [];
  g.nodes.forEach((n, i) => {
    for (const d of n.params) out.push({ name: `${n.path}.${d.name}`, shape: d.shape, kind: 'param', node: i, decl: d });
    for (const d of n.state) out.push({ name: `${n.path}.${d.name}`, shape: d.shape, kind: 'buffer', node: i, decl: d });
  });
  return out;
}

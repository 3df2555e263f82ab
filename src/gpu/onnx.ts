// ONNX export of the GPT (opset 17, written with onnx-proto): the same math as model.ts, with weights as graph inputs.
//
// Two graphs share everything but attention:
//   'prefill'  a fresh batch: tokens/positions int32 [B,T], mask float [B,1,T,T] (layout.ts); causal attention
//              over the T columns with batched MatMuls.
//   'decode'   one new column per row: tokens/positions [B,1], the KV cache past.{i}.k / past.{i}.v float
//              [B,H,C,hd] (C fixed-capacity slots), mask [B,1,1,C+1] (the C slots, then the new column; unfilled
//              slots masked). Scores are k·qᵀ over the slots (only q is transposed); nothing cache-sized is
//              concatenated or copied. (Measured slower here: broadcast Mul+ReduceSum, whose Mul dominated the
//              profile; and the fused com.microsoft MultiHeadAttention with past, ~2× in an A/B, as it copies the
//              whole cache into its present output every step.)
// Both output logits float [B,T,V] and new.{i}.k / new.{i}.v float [B,H,T,hd], the keys/values of the new columns
// only: the caller keeps the cache in its own buffers, passes them whole (no copy) and writes new columns into free
// slots, so nothing cache-sized is concatenated, transposed or copied back per token.
// Weights are graph inputs, not initializers, so a weight sync is just passing new arrays to the next `run`
// (measured: same speed as baked-in constants). Given `weights`, they are baked in as constants instead (a standalone file).

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { LAYER_NORM_EPS } from './ops.js';
import { checkWeights, GptConfigSchema, paramSpecs, ropeTables, type GptConfig, type Weights } from './model.js';

const { onnx } = onnxProto;
type INodeProto = OnnxTypes.INodeProto;
type ITensorProto = OnnxTypes.ITensorProto;
type IValueInfoProto = OnnxTypes.IValueInfoProto;
type IAttributeProto = OnnxTypes.IAttributeProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;
const AttrType = onnx.AttributeProto.AttributeType;

const OPSET = 17;

/** Input/output names of the exported graph. */
export const onnxNames = {
  tokens: 'tokens',
  positions: 'positions',
  mask: 'mask',
  logits: 'logits',
  pastK: (i: number) => `past.${i}.k`,
  pastV: (i: number) => `past.${i}.v`,
  newK: (i: number) => `new.${i}.k`,
  newV: (i: number) => `new.${i}.v`,
};

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function intAttr(name: string, i: number): IAttributeProto {
  return { name, type: AttrType.INT, i };
}
function intsAttr(name: string, ints: number[]): IAttributeProto {
  return { name, type: AttrType.INTS, ints };
}
function floatAttr(name: string, f: number): IAttributeProto {
  return { name, type: AttrType.FLOAT, f };
}

/** Accumulates nodes and constants with fresh names; each op helper returns its output's name. */
class GraphBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  private counter = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  op(
    opType: string,
    inputs: string[],
    attribute: IAttributeProto[] = [],
    hint = opType.toLowerCase(),
    outputs = 1,
  ): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ opType, input: inputs, output: out, attribute, name: this.fresh(`n_${hint}`) });
    return out;
  }
  one(opType: string, inputs: string[], attribute: IAttributeProto[] = [], hint?: string): string {
    return this.op(opType, inputs, attribute, hint)[0] as string;
  }

  floatConst(value: number): string {
    const name = this.fresh('c');
    this.initializers.push({ name, dataType: FLOAT, dims: [], floatData: [value] });
    return name;
  }
  floatTable(values: Float32Array, dims: number[], hint: string): string {
    const name = this.fresh(hint);
    this.initializers.push({
      name,
      dataType: FLOAT,
      dims,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }
  int64Const(values: number[]): string {
    const name = this.fresh('shape');
    this.initializers.push({ name, dataType: INT64, dims: [values.length], int64Data: values });
    return name;
  }

  // ops, named as in model.ts / ops.ts
  add(a: string, b: string): string {
    return this.one('Add', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.one('Mul', [a, b]);
  }
  matMul(a: string, b: string): string {
    return this.one('MatMul', [a, b]);
  }
  linear(x: string, w: string, b: string): string {
    return this.add(this.matMul(x, w), b);
  }
  transpose(x: string, perm: number[]): string {
    return this.one('Transpose', [x], [intsAttr('perm', perm)]);
  }
  reshape(x: string, shape: number[]): string {
    return this.one('Reshape', [x, this.int64Const(shape)]);
  }
  layerNorm(x: string, g: string, b: string): string {
    return this.one('LayerNormalization', [x, g, b], [intAttr('axis', -1), floatAttr('epsilon', LAYER_NORM_EPS)]);
  }
  gelu(x: string): string {
    const cube = this.mul(this.mul(x, x), x);
    const inner = this.mul(
      this.add(x, this.mul(cube, this.floatConst(0.044715))),
      this.floatConst(Math.sqrt(2 / Math.PI)),
    );
    return this.mul(this.mul(x, this.floatConst(0.5)), this.add(this.one('Tanh', [inner]), this.floatConst(1)));
  }
}

type OnnxGraphKind = 'prefill' | 'decode';

/**
 * The ONNX model of `kind` for `config`, as bytes. Parameters are graph inputs named as in `paramSpecs`; with
 * `weights` they are constants (initializers) instead, for a standalone file.
 */
export function exportOnnx(config: GptConfig, kind: OnnxGraphKind = 'prefill', weights?: Weights): Uint8Array {
  const { vocabSize: V, contextLength: N, layers, width: d, heads: nh } = config;
  const hd = d / nh;
  const g = new GraphBuilder();
  const n = onnxNames;

  const axes = (...a: number[]): string => g.int64Const(a);
  const resolved = GptConfigSchema.parse(config);
  const rope = resolved.positions === 'rope';
  // token (+ learned position) embeddings (Gather is fine here: no gradients in ORT)
  let x = g.one('Gather', ['wte', n.tokens], [intAttr('axis', 0)]); // [B,T,d]
  if (!rope) x = g.add(x, g.one('Gather', ['wpe', n.positions], [intAttr('axis', 0)]));
  // rotary positions: cos/sin rows of each position, [B,1,T,hd/2], from constant tables over the context
  let rotate = (t: string): string => t;
  if (rope) {
    const all = Array.from({ length: N }, (_, j) => j);
    const tables = ropeTables(all, hd);
    const angles = (table: Float32Array, hint: string): string =>
      g.one('Unsqueeze', [
        g.one('Gather', [g.floatTable(table, [N, hd / 2], hint), n.positions], [intAttr('axis', 0)]),
        axes(1),
      ]);
    const cos = angles(tables.cos, 'rope_cos');
    const sin = angles(tables.sin, 'rope_sin');
    const halves = g.int64Const([hd / 2, hd / 2]);
    // lane i pairs with lane i + hd/2 (as model.ts's rotate)
    rotate = (t: string): string => {
      const [a, b] = g.op('Split', [t, halves], [intAttr('axis', -1)], 'half', 2) as [string, string];
      const ra = g.one('Sub', [g.mul(a, cos), g.mul(b, sin)]);
      const rb = g.add(g.mul(b, cos), g.mul(a, sin));
      return g.one('Concat', [ra, rb], [intAttr('axis', -1)]);
    };
  }
  const scale = g.floatConst(1 / Math.sqrt(hd));
  const splitSizes = g.int64Const([d, d, d]);
  for (let i = 0; i < layers; i++) {
    const h = `h${i}`;
    // causal self-attention
    const qkv = g.linear(g.layerNorm(x, `${h}.ln1.g`, `${h}.ln1.b`), `${h}.attn.wqkv`, `${h}.attn.bqkv`); // [B,T,3d]
    const [q0, k0, v0] = g.op('Split', [qkv, splitSizes], [intAttr('axis', -1)], 'qkv', 3) as [string, string, string];
    const heads = (t: string): string => g.transpose(g.reshape(t, [0, 0, nh, hd]), [0, 2, 1, 3]); // [B,nh,T,hd]
    const q = rotate(heads(q0));
    const k = rotate(heads(k0));
    const v = heads(v0);
    g.nodes.push({ opType: 'Identity', input: [k], output: [n.newK(i)], name: `out_${n.newK(i)}` });
    g.nodes.push({ opType: 'Identity', input: [v], output: [n.newV(i)], name: `out_${n.newV(i)}` });
    let yHeads: string; // [B,nh,T,hd]
    if (kind === 'prefill') {
      let att = g.add(g.mul(g.matMul(q, g.transpose(k, [0, 1, 3, 2])), scale), n.mask); // [B,nh,T,T]
      att = g.one('Softmax', [att], [intAttr('axis', -1)]);
      yHeads = g.matMul(att, v);
    } else {
      // one query per row (T = 1): scores k·qᵀ over the C cache slots (transposing only q), the new column apart
      const sumOver = (t: string, axis: number): string =>
        g.one('ReduceSum', [t, axes(axis)], [intAttr('keepdims', 1)]);
      const sPast = g.reshape(g.matMul(n.pastK(i), g.transpose(q, [0, 1, 3, 2])), [0, 0, 1, -1]); // [B,nh,C,1] → [B,nh,1,C]
      const sNew = sumOver(g.mul(k, q), 3); // [B,nh,1,1]
      let att = g.add(g.mul(g.one('Concat', [sPast, sNew], [intAttr('axis', 3)]), scale), n.mask); // [B,nh,1,C+1]
      att = g.one('Softmax', [att], [intAttr('axis', -1)]);
      const capacity = g.one('Shape', [n.pastK(i)], [intAttr('start', 2), intAttr('end', 3)]); // [C]
      const aPast = g.one('Slice', [att, axes(0), capacity, axes(3)]); // [B,nh,1,C]
      const aNew = g.one('Slice', [att, capacity, axes(2 ** 31 - 1), axes(3)]); // [B,nh,1,1]
      yHeads = g.add(g.matMul(aPast, n.pastV(i)), g.mul(aNew, v));
    }
    const y = g.reshape(g.transpose(yHeads, [0, 2, 1, 3]), [0, 0, d]); // [B,T,d]
    x = g.add(x, g.linear(y, `${h}.attn.wo`, `${h}.attn.bo`));
    // MLP
    const hidden = g.gelu(g.linear(g.layerNorm(x, `${h}.ln2.g`, `${h}.ln2.b`), `${h}.mlp.wfc`, `${h}.mlp.bfc`));
    x = g.add(x, g.linear(hidden, `${h}.mlp.wproj`, `${h}.mlp.bproj`));
  }
  x = g.layerNorm(x, 'lnf.g', 'lnf.b');
  // output head: untied, x · wout; or tied, x · wteᵀ
  const head = resolved.outputHead === 'untied' ? g.matMul(x, 'wout') : g.matMul(x, g.transpose('wte', [1, 0]));
  g.nodes.push({ opType: 'Identity', input: [head], output: [n.logits], name: 'out_logits' });

  const specs = paramSpecs(config);
  const T: Dim = kind === 'prefill' ? 'T' : 1;
  const input: IValueInfoProto[] = [
    valueInfo(n.tokens, INT32, ['B', T]),
    valueInfo(n.positions, INT32, ['B', T]),
    valueInfo(n.mask, FLOAT, kind === 'prefill' ? ['B', 1, T, T] : ['B', 1, 1, 'C+1']),
  ];
  const output: IValueInfoProto[] = [valueInfo(n.logits, FLOAT, ['B', T, V])];
  for (let i = 0; i < layers; i++) {
    if (kind === 'decode')
      input.push(valueInfo(n.pastK(i), FLOAT, ['B', nh, 'C', hd]), valueInfo(n.pastV(i), FLOAT, ['B', nh, 'C', hd]));
    output.push(valueInfo(n.newK(i), FLOAT, ['B', nh, T, hd]), valueInfo(n.newV(i), FLOAT, ['B', nh, T, hd]));
  }
  if (weights === undefined) for (const spec of specs) input.push(valueInfo(spec.name, FLOAT, [...spec.shape]));
  else {
    checkWeights(config, weights);
    for (const w of weights)
      g.initializers.push({
        name: w.name,
        dataType: FLOAT,
        dims: [...w.shape],
        rawData: new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength),
      });
  }

  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'azr',
    docString: `azr GPT (${kind}): vocab ${V}, context ${N}, ${layers} layers, width ${d}, ${nh} heads, ${rope ? 'rotary' : 'learned'} positions`,
    graph: { name: `azr_gpt_${kind}`, node: g.nodes, input, output, initializer: g.initializers },
  });
  return onnx.ModelProto.encode(model).finish();
}

// Hardened isolation, checked generically: every built-in a program can reach is frozen, and a fingerprint of the
// whole realm (every reachable object's keys, attributes and primitive values) is the same after a battery of
// attacks as before, so no request can leave anything for the next one to find.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxPool } from '../../src/sandbox/pool.js';
import { expectOk, run, testPool } from './helpers.js';

/**
 * Built-in objects a program can reach: from the global object, and from the prototypes of instances of every kind
 * of built-in (the instances, and objects they own such as a function's .prototype, are the program's own).
 */
const REACHABLE = `
function reachable() {
  const exemplars = [
    [], {}, function () {}, () => 0, class {}, function* () {}, async function () {}, async function* () {},
    // a generator object's prototype is its function's own .prototype; the built-in one is the next
    Object.getPrototypeOf((function* () {})()), Object.getPrototypeOf((async function* () {})()), Promise.resolve(), /a/g, new Map(), new Set(), new WeakMap(), new WeakSet(),
    new ArrayBuffer(8), new DataView(new ArrayBuffer(8)), new Int8Array(1), new Uint8Array(1), new Uint8ClampedArray(1),
    new Int16Array(1), new Uint16Array(1), new Int32Array(1), new Uint32Array(1), new Float32Array(1), new Float64Array(1),
    new BigInt64Array(1), new BigUint64Array(1), new Error(), new TypeError(), new RangeError(), new SyntaxError(),
    new ReferenceError(), new EvalError(), new URIError(), new AggregateError([]), [].keys(), [].values(), [].entries(),
    new Map().keys(), new Set().entries(), 'ab'[Symbol.iterator](), 'ab'.matchAll(/a/g), [].values().map((x) => x),
    Iterator.from({ next: () => ({ done: true }) }), (function () { return arguments; })(),
    (function () { 'use strict'; return arguments; })(), function () {}.bind(null), Object(Symbol('s')), Object(1n),
    Object('s'), Object(1), Object(true), new SharedArrayBuffer(8),
  ];
  const throwTypeError = Object.getOwnPropertyDescriptor((function () { 'use strict'; return arguments; })(), 'callee').get;
  const seen = new Set([globalThis]);
  const out = [];
  const queue = [globalThis];
  for (const v of [...exemplars.map((e) => Object.getPrototypeOf(e)), throwTypeError]) if (!seen.has(v)) { seen.add(v); queue.push(v); }
  const visit = (v) => {
    if ((typeof v === 'object' || typeof v === 'function') && v !== null && !seen.has(v)) { seen.add(v); queue.push(v); }
  };
  for (let i = 0; i < queue.length; i++) {
    const o = queue[i];
    if (o !== globalThis) out.push(o);
    visit(Object.getPrototypeOf(o));
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if ('value' in d) visit(d.value); else { visit(d.get); visit(d.set); }
    }
  }
  return out;
}`;

/** A hash of the realm's shape: for each reachable object (in discovery order), its keys, attributes, primitives. */
const FINGERPRINT = `${REACHABLE}
function f() {
  let h = 2166136261;
  const add = (s) => { for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0; };
  const objs = [globalThis, ...reachable()];
  const index = new Map(objs.map((o, i) => [o, i]));
  const ref = (v) => (typeof v === 'object' || typeof v === 'function') && v !== null ? '#' + index.get(v) : typeof v + ':' + String(v);
  for (const o of objs) {
    add('|' + ref(Object.getPrototypeOf(o)) + (Object.isExtensible(o) ? 'E' : 'e'));
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      add(String(k) + (d.enumerable ? 'e' : '') + (d.configurable ? 'c' : '') + ('value' in d ? (d.writable ? 'w' : '') + ref(d.value) : ref(d.get) + ref(d.set)));
    }
  }
  return [objs.length, h];
}`;

const ATTACKS: Array<[string, string]> = [
  ['adds globals', 'function f() { globalThis.a = 1; b = 2; globalThis[Symbol.for("c")] = 3; return 0; }'],
  [
    'patches prototypes',
    'function f() { try { Object.prototype.p = 1; } catch {} try { Array.prototype.push = null; } catch {} return 0; }',
  ],
  [
    'redefines built-ins',
    'function f() { for (const k of ["Object", "Array", "JSON", "Math"]) { try { globalThis[k] = null; } catch {} } return 0; }',
  ],
  [
    'uses defineProperty on built-ins',
    'function f() { for (const o of [Object.prototype, Function.prototype, Math, JSON, Reflect]) { try { Object.defineProperty(o, "x", { value: 1 }); } catch {} } return 0; }',
  ],
  [
    'deletes built-ins',
    'function f() { for (const k of Reflect.ownKeys(globalThis)) { try { delete globalThis[k]; } catch {} } try { delete Array.prototype.map; } catch {} return 0; }',
  ],
  [
    'changes prototypes of built-ins',
    'function f() { try { Object.setPrototypeOf(Array.prototype, null); } catch {} try { Object.setPrototypeOf(globalThis, null); } catch {} return 0; }',
  ],
  [
    'patches hidden intrinsics',
    'function f() { for (const o of [Object.getPrototypeOf([].values()), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(Int8Array)]) { try { o.x = 1; } catch {} } return 0; }',
  ],
  [
    'uses the override setters on built-ins',
    'function f() { try { Object.prototype.toString = () => "x"; } catch {} try { Error.prototype.name = "x"; } catch {} return 0; }',
  ],
  ['freezes the global object', 'function f() { Object.freeze(globalThis); return 0; }'],
  ['queues promise jobs', 'function f() { Promise.resolve().then(() => { globalThis.late = 1; }); return 0; }'],
  ['defines permanent globals', 'function f() { Object.defineProperty(globalThis, "perm", { value: 1 }); return 0; }'],
  ['leaves globals behind after throwing', 'function f() { globalThis.thrown = 1; throw new Error("x"); }'],
  ['leaves globals behind after a timeout', 'function f() { globalThis.slow = 1; for (;;) {} }'],
];

describe('hardened isolation (one worker, so every request shares the same context unless it is replaced)', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = testPool({ isolation: 'hardened', workers: 1 });
    await pool.ready();
  });
  afterAll(() => pool.close());

  it('freezes every built-in object a program can reach', async () => {
    const program = `${REACHABLE}\nfunction f() { const loose = reachable().filter((o) => !Object.isFrozen(o)); return [loose.length, loose.slice(0, 3).map((o) => typeof o + ":" + Reflect.ownKeys(o).map(String).join(","))]; }`;
    expectOk(await run(pool, program, '', { validate: false }), '[0, []]');
  });

  it('removes the sources of hidden realm state (Math.random, eval, Date)', async () => {
    expectOk(
      await run(pool, 'function f() { return [typeof Math.random, typeof eval, typeof Date]; }', '', {
        validate: false,
      }),
      '["undefined", "undefined", "undefined"]',
    );
  });

  it('finds the realm unchanged after each attack', async () => {
    const baseline = await run(pool, FINGERPRINT, '', { validate: false });
    expect(baseline.ok, JSON.stringify(baseline)).toBe(true);
    for (const [name, attack] of ATTACKS) {
      await run(pool, attack, '', { validate: false });
      const after = await run(pool, FINGERPRINT, '', { validate: false });
      expect(after, `after the attack that ${name}`).toEqual(baseline);
    }
  });

  it('keeps a global lexical binding from escaping the job (no eval; the program runs in a function)', async () => {
    await run(
      pool,
      'function f() { try { (0, eval)("let esc = 1"); } catch {} try { Function("let esc2 = 1")(); } catch {} return 0; }',
      '',
      { validate: false },
    );
    expectOk(
      await run(pool, 'function f() { return [typeof esc, typeof esc2]; }', '', { validate: false }),
      '["undefined", "undefined"]',
    );
  });
});

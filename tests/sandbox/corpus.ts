// A corpus of ordinary programs (strings, arrays, objects, Map/Set, math, sorting) with inputs, for comparing the
// sandbox's outputs with what Node computes. Hand-written programs, plus families of programs that differ in a
// constant (each family member is a distinct program text).

export interface CorpusEntry {
  category: string;
  program: string;
  inputs: string[];
}

const hand: CorpusEntry[] = [
  // strings
  {
    category: 'string',
    program: 'function f(s) { return s.split("").reverse().join(""); }',
    inputs: ['"hello"', '""', '"ab c"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.toUpperCase() + s.toLowerCase(); }',
    inputs: ['"MiXeD"', '"ß"'],
  },
  {
    category: 'string',
    program: 'function f(s) { const c = {}; for (const ch of s) c[ch] = (c[ch] || 0) + 1; return c; }',
    inputs: ['"mississippi"', '"aAbB"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.replace(/[aeiou]/g, (v) => v.toUpperCase()); }',
    inputs: ['"education"', '"rhythm"'],
  },
  {
    category: 'string',
    program:
      'function f(s) { return s.split(/\\s+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(" "); }',
    inputs: ['"the quick  brown fox"', '"  a b "'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s === s.split("").reverse().join(""); }',
    inputs: ['"racecar"', '"abca"', '""'],
  },
  {
    category: 'string',
    program: 'function f(s, n) { return s.padStart(n, "*") + "|" + s.padEnd(n, "-"); }',
    inputs: ['"ab", 5', '"abcdef", 3'],
  },
  {
    category: 'string',
    program: 'function f(s) { return [...s].map((c) => c.charCodeAt(0)); }',
    inputs: ['"AZaz09"', '"é"'],
  },
  { category: 'string', program: 'function f(s) { return s.match(/\\d+/g); }', inputs: ['"a1b22c333"', '"none"'] },
  {
    category: 'string',
    program:
      'function f(s) { const m = s.match(/(?<year>\\d{4})-(?<month>\\d{2})/); return m ? { ...m.groups } : null; }',
    inputs: ['"on 2024-05-17"', '"no date"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.trim().split(",").map((x) => x.trim()).filter((x) => x.length > 0); }',
    inputs: ['" a, b,,c ,"', '""'],
  },
  {
    category: 'string',
    program: 'function f(a, b) { let i = 0; while (i < a.length && a[i] === b[i]) i++; return a.slice(0, i); }',
    inputs: ['"flower", "flow"', '"dog", "car"'],
  },
  {
    category: 'string',
    program:
      'function f(s) { let out = ""; let i = 0; while (i < s.length) { let j = i; while (j < s.length && s[j] === s[i]) j++; out += s[i] + (j - i); i = j; } return out; }',
    inputs: ['"aaabccdddd"', '"x"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.normalize("NFD").length + ":" + s.normalize("NFC").length; }',
    inputs: ['"é"', '"e\\u0301"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.codePointAt(0).toString(16) + "/" + [...s].length + "/" + s.length; }',
    inputs: ['"😀x"', '"a"'],
  },
  {
    category: 'string',
    program:
      'function f(s, t) { return [s.indexOf(t), s.lastIndexOf(t), s.includes(t), s.startsWith(t), s.endsWith(t)]; }',
    inputs: ['"banana", "an"', '"banana", "x"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return JSON.stringify({ s, n: s.length }); }',
    inputs: ['"q\\"uote"', '"line\\nbreak"'],
  },
  {
    category: 'string',
    program: 'function f(s) { return JSON.parse(s); }',
    inputs: ['"{\\"a\\": [1, 2, {\\"b\\": null}]}"', '"\\"text\\""'],
  },
  {
    category: 'string',
    program: 'function f(n) { return String(n) + "|" + n.toFixed(2) + "|" + n.toString(2); }',
    inputs: ['5', '-12', '1024'],
  },
  {
    category: 'string',
    program: 'function f(s) { return s.replaceAll("a", "o").at(-1); }',
    inputs: ['"banana"', '"cat"'],
  },
  // arrays
  {
    category: 'array',
    program: 'function f(a) { return a.filter((x) => x % 2 === 0).map((x) => x * x); }',
    inputs: ['[1, 2, 3, 4, 5, 6]', '[]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.reduce((acc, x) => acc + x, 0); }',
    inputs: ['[1, 2, 3]', '[0.1, 0.2]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return [...new Set(a)]; }',
    inputs: ['[3, 1, 3, 2, 1]', '["a", "a"]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.flat(Infinity); }',
    inputs: ['[1, [2, [3, [4]]]]', '[[], [[]]]'],
  },
  {
    category: 'array',
    program:
      'function f(a, k) { const out = []; for (let i = 0; i < a.length; i += k) out.push(a.slice(i, i + k)); return out; }',
    inputs: ['[1, 2, 3, 4, 5], 2', '[], 3'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.map((x, i) => [i, x]).filter(([i]) => i % 2 === 1); }',
    inputs: ['["a", "b", "c", "d"]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return [Math.max(...a), Math.min(...a), a.indexOf(Math.max(...a))]; }',
    inputs: ['[3, 9, 2, 9]', '[-1]'],
  },
  {
    category: 'array',
    program: 'function f(a, b) { return a.map((x, i) => [x, b[i]]); }',
    inputs: ['[1, 2, 3], ["x", "y"]'],
  },
  {
    category: 'array',
    program: 'function f(n) { return Array.from({ length: n }, (_, i) => i * i); }',
    inputs: ['5', '0'],
  },
  {
    category: 'array',
    program:
      'function f(a) { return [a.some((x) => x > 3), a.every((x) => x > 0), a.find((x) => x > 1), a.findIndex((x) => x > 10), a.findLast((x) => x < 3)]; }',
    inputs: ['[1, 2, 3, 4]'],
  },
  {
    category: 'array',
    program: 'function f(a) { const b = a.slice(); b.reverse(); b.splice(1, 1, "x", "y"); return [a, b]; }',
    inputs: ['[1, 2, 3]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.concat([[9]], 10).length + ":" + a.join("-"); }',
    inputs: ['[1, [2, 3]]'],
  },
  {
    category: 'array',
    program: 'function f(a) { const r = []; for (let i = 0; i < a.length; i++) r[i * 2] = a[i]; return r; }',
    inputs: ['[1, 2, 3]'],
  },
  {
    category: 'array',
    program: 'function f(m) { return m[0].map((_, j) => m.map((row) => row[j])); }',
    inputs: ['[[1, 2, 3], [4, 5, 6]]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.toSorted((x, y) => y - x).with(0, -1).toReversed(); }',
    inputs: ['[5, 1, 4]'],
  },
  {
    category: 'array',
    program:
      'function f(a, t) { const seen = new Map(); for (let i = 0; i < a.length; i++) { if (seen.has(t - a[i])) return [seen.get(t - a[i]), i]; seen.set(a[i], i); } return null; }',
    inputs: ['[2, 7, 11, 15], 9', '[1, 2], 10'],
  },
  {
    category: 'array',
    program:
      'function f(a) { let best = -Infinity, cur = 0; for (const x of a) { cur = Math.max(x, cur + x); best = Math.max(best, cur); } return best; }',
    inputs: ['[-2, 1, -3, 4, -1, 2, 1, -5, 4]', '[-3, -1]'],
  },
  {
    category: 'array',
    program: 'function f(a) { return a.entries().next().value.concat([...a.keys()]); }',
    inputs: ['["p", "q"]'],
  },
  // objects
  {
    category: 'object',
    program: 'function f(o) { return Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k])); }',
    inputs: ['{ a: "x", b: "y" }', '{}'],
  },
  {
    category: 'object',
    program: 'function f(o) { return Object.keys(o).sort(); }',
    inputs: ['{ b: 1, a: 2, 10: 3, 2: 4 }'],
  },
  {
    category: 'object',
    program: 'function f(a) { const g = {}; for (const w of a) (g[w.length] ??= []).push(w); return g; }',
    inputs: ['["a", "bb", "cc", "d", "eee"]'],
  },
  {
    category: 'object',
    program: 'function f(o, p) { return p.split(".").reduce((x, k) => (x == null ? undefined : x[k]), o); }',
    inputs: ['{ a: { b: { c: 42 } } }, "a.b.c"', '{ a: 1 }, "a.b.c"'],
  },
  {
    category: 'object',
    program: 'function f(a, b) { return { ...a, ...b, nested: { ...a.nested, ...b.nested } }; }',
    inputs: ['{ x: 1, nested: { p: 1 } }, { y: 2, nested: { q: 2 } }'],
  },
  {
    category: 'object',
    program:
      'function f(o) { const out = {}; for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v; return out; }',
    inputs: ['{ a: 1, b: null, c: undefined, d: 0 }'],
  },
  {
    category: 'object',
    program: 'function f(o) { return JSON.parse(JSON.stringify(o)); }',
    inputs: ['{ a: [1, { b: 2 }], c: "x", d: undefined }'],
  },
  {
    category: 'object',
    program: 'function f(people) { return people.filter((p) => p.age >= 18).map((p) => p.name); }',
    inputs: ['[{ name: "A", age: 20 }, { name: "B", age: 10 }]'],
  },
  {
    category: 'object',
    program:
      'function f(o) { return { keys: Object.keys(o).length, has: "a" in o, own: Object.hasOwn(o, "toString") }; }',
    inputs: ['{ a: 1 }'],
  },
  {
    category: 'object',
    program: 'function f(a) { return a.reduce((acc, [k, v]) => ({ ...acc, [k]: (acc[k] ?? 0) + v }), {}); }',
    inputs: ['[["x", 1], ["y", 2], ["x", 3]]'],
  },
  {
    category: 'object',
    program: 'function f(o) { const { a, b: { c = 5 } = {}, ...rest } = o; return [a, c, rest]; }',
    inputs: ['{ a: 1, b: {}, d: 4, e: 5 }', '{ a: 2, b: { c: 3 } }'],
  },
  {
    category: 'object',
    program:
      'function f(s) { class Stack { constructor() { this.items = []; } push(x) { this.items.push(x); } pop() { return this.items.pop(); } } const st = new Stack(); for (const c of s) { if (c === "(") st.push(c); else if (c === ")") { if (!st.pop()) return false; } } return st.items.length === 0; }',
    inputs: ['"(()())"', '"(()"', '")("'],
  },
  // Map / Set
  {
    category: 'mapset',
    program: 'function f(a) { const m = new Map(); for (const x of a) m.set(x, (m.get(x) ?? 0) + 1); return m; }',
    inputs: ['["a", "b", "a", "c", "a"]', '[1, "1", 1]'],
  },
  {
    category: 'mapset',
    program: 'function f(a, b) { const s = new Set(b); return a.filter((x) => s.has(x)); }',
    inputs: ['[1, 2, 3, 4], [2, 4, 6]'],
  },
  { category: 'mapset', program: 'function f(a, b) { return new Set([...a, ...b]); }', inputs: ['[3, 1], [2, 1]'] },
  {
    category: 'mapset',
    program:
      'function f(words) { const m = new Map(); for (const w of words) { const k = w.split("").sort().join(""); if (!m.has(k)) m.set(k, []); m.get(k).push(w); } return [...m.values()]; }',
    inputs: ['["eat", "tea", "tan", "ate", "nat", "bat"]'],
  },
  {
    category: 'mapset',
    program: 'function f(o) { return new Map(Object.entries(o).map(([k, v]) => [v, new Set([k])])); }',
    inputs: ['{ a: 1, b: 2 }'],
  },
  {
    category: 'mapset',
    program:
      'function f(a) { const s = new Set(); const d = new Set(); for (const x of a) (s.has(x) ? d : s).add(x); return [s.size, d]; }',
    inputs: ['[1, 2, 2, 3, 3, 3]'],
  },
  {
    category: 'mapset',
    program:
      'function f(edges) { const g = new Map(); for (const [a, b] of edges) { if (!g.has(a)) g.set(a, new Set()); g.get(a).add(b); } return g; }',
    inputs: ['[[1, 2], [1, 3], [2, 3]]'],
  },
  {
    category: 'mapset',
    program:
      'function f(n) { const m = new Map([[0, 0], [1, 1]]); const fib = (k) => { if (!m.has(k)) m.set(k, fib(k - 1) + fib(k - 2)); return m.get(k); }; return fib(n); }',
    inputs: ['30', '1'],
  },
  // math
  {
    category: 'math',
    program: 'function f(n) { let a = 0, b = 1; for (let i = 0; i < n; i++) [a, b] = [b, a + b]; return a; }',
    inputs: ['10', '0', '78'],
  },
  {
    category: 'math',
    program:
      'function f(n) { const ps = []; for (let i = 2; ps.length < n; i++) if (ps.every((p) => i % p !== 0)) ps.push(i); return ps; }',
    inputs: ['10'],
  },
  {
    category: 'math',
    program: 'function f(a, b) { while (b) [a, b] = [b, a % b]; return a; }',
    inputs: ['48, 18', '17, 5'],
  },
  {
    category: 'math',
    program: 'function f(n) { let r = 1n; for (let i = 2n; i <= BigInt(n); i++) r *= i; return r; }',
    inputs: ['25', '0'],
  },
  {
    category: 'math',
    program:
      'function f(x) { return [Math.floor(x), Math.ceil(x), Math.round(x), Math.trunc(x), Math.sign(x), Math.abs(x)]; }',
    inputs: ['-2.5', '2.5', '-0'],
  },
  {
    category: 'math',
    program: 'function f(a, b) { return [a / b, a % b, a ** 2, -a / 0, 0 / 0]; }',
    inputs: ['7, 2', '-7, 0'],
  },
  {
    category: 'math',
    program: 'function f(n) { return Math.sqrt(n) + ":" + Number.isInteger(Math.sqrt(n)); }',
    inputs: ['16', '2'],
  },
  {
    category: 'math',
    program: 'function f(s) { return [parseInt(s), parseFloat(s), Number(s), +s, parseInt(s, 16)]; }',
    inputs: ['"12.5px"', '"0x1f"', '"  7 "'],
  },
  {
    category: 'math',
    program: 'function f(n) { return n.toString(2).split("").filter((b) => b === "1").length; }',
    inputs: ['255', '1024'],
  },
  {
    category: 'math',
    program: 'function f(a, b) { return [a & b, a | b, a ^ b, ~a, a << 3, a >> 1, a >>> 28, -a >>> 0]; }',
    inputs: ['12, 10', '-5, 3'],
  },
  {
    category: 'math',
    program:
      'function f(x) { return [0.1 + 0.2, 0.1 + 0.2 === 0.3, Number.EPSILON > 0, 1e21 + 1, 2 ** 53 + 1, x / 3]; }',
    inputs: ['1'],
  },
  {
    category: 'math',
    program:
      'function f(n) { const d = []; for (let i = 1; i * i <= n; i++) if (n % i === 0) { d.push(i); if (i * i !== n) d.push(n / i); } return d.sort((a, b) => a - b); }',
    inputs: ['36', '13'],
  },
  // sorting
  {
    category: 'sort',
    program: 'function f(a) { return a.slice().sort(); }',
    inputs: ['[10, 9, 1, 100]', '["b", "a", "B"]'],
  },
  {
    category: 'sort',
    program: 'function f(a) { return a.slice().sort((x, y) => x - y); }',
    inputs: ['[10, 9, 1, 100, -3]'],
  },
  {
    category: 'sort',
    program: 'function f(a) { return a.slice().sort((x, y) => x.age - y.age || (x.name < y.name ? -1 : 1)); }',
    inputs: ['[{ name: "b", age: 2 }, { name: "a", age: 2 }, { name: "c", age: 1 }]'],
  },
  {
    category: 'sort',
    program:
      'function f(a) { const b = a.slice(); for (let i = 0; i < b.length; i++) for (let j = 0; j < b.length - 1 - i; j++) if (b[j] > b[j + 1]) [b[j], b[j + 1]] = [b[j + 1], b[j]]; return b; }',
    inputs: ['[5, 2, 9, 1, 5, 6]'],
  },
  {
    category: 'sort',
    program:
      'function f(a) { if (a.length < 2) return a; const [p, ...r] = a; return [...f(r.filter((x) => x < p)), p, ...f(r.filter((x) => x >= p))]; }',
    inputs: ['[3, 6, 1, 8, 2, 9, 2]'],
  },
  {
    category: 'sort',
    program:
      'function f(a) { const m = (l, r) => { const o = []; while (l.length && r.length) o.push(l[0] <= r[0] ? l.shift() : r.shift()); return [...o, ...l, ...r]; }; const s = (x) => x.length < 2 ? x : m(s(x.slice(0, x.length >> 1)), s(x.slice(x.length >> 1))); return s(a); }',
    inputs: ['[38, 27, 43, 3, 9, 82, 10]'],
  },
  {
    category: 'sort',
    program: 'function f(words) { return words.slice().sort((a, b) => b.length - a.length); }',
    inputs: ['["aa", "b", "cc", "ddd", "e"]'],
  },
  {
    category: 'sort',
    program: 'function f(o) { return Object.entries(o).sort(([, a], [, b]) => b - a).map(([k]) => k); }',
    inputs: ['{ x: 3, y: 1, z: 2 }'],
  },
  {
    category: 'sort',
    program:
      'function f(a, t) { let lo = 0, hi = a.length - 1; while (lo <= hi) { const mid = (lo + hi) >> 1; if (a[mid] === t) return mid; if (a[mid] < t) lo = mid + 1; else hi = mid - 1; } return -lo - 1; }',
    inputs: ['[1, 3, 5, 7], 5', '[1, 3, 5, 7], 4'],
  },
  // errors (Node throws too: the sandbox must report a runtime error)
  { category: 'error', program: 'function f(x) { return x.y.z; }', inputs: ['{}'] },
  { category: 'error', program: 'function f() { return undefinedVariable + 1; }', inputs: [''] },
  { category: 'error', program: 'function f(s) { return JSON.parse(s); }', inputs: ['"{bad"'] },
  {
    category: 'error',
    program: 'function f(n) { if (n < 0) throw new RangeError("negative"); return n; }',
    inputs: ['-1', '1'],
  },
  { category: 'error', program: 'function f() { return new Array(-1); }', inputs: [''] },
  { category: 'error', program: 'function f() { return 1n + 1; }', inputs: [''] },
];

/** Families: one template, several constants, each a distinct program. */
function family(category: string, ks: number[], make: (k: number) => string, inputs: string[]): CorpusEntry[] {
  return ks.map((k) => ({ category, program: make(k), inputs }));
}

const K = [1, 2, 3, 5, 7, 11, 13];

const families: CorpusEntry[] = [
  ...family(
    'string',
    K,
    (k) =>
      `function f(s) { return s.replace(/[a-z]/g, (c) => String.fromCharCode((c.charCodeAt(0) - 97 + ${k}) % 26 + 97)); }`,
    ['"hello world"', '"xyz"'],
  ),
  ...family(
    'string',
    K,
    (k) => `function f(s) { return s.slice(${k} % (s.length || 1)) + s.slice(0, ${k} % (s.length || 1)); }`,
    ['"abcdefgh"', '"ab"'],
  ),
  ...family('string', K, (k) => `function f(s) { return s.split("").filter((_, i) => i % ${k + 1} === 0).join(""); }`, [
    '"abcdefghijklmnop"',
  ]),
  ...family(
    'string',
    K,
    (k) => `function f(s) { return s.repeat(${k}).length + s.padEnd(${k}, ".").slice(0, ${k}); }`,
    ['"ab"', '""'],
  ),
  ...family('array', K, (k) => `function f(a) { return a.filter((x) => x > ${k}); }`, ['[1, 4, 9, 16, 25]']),
  ...family('array', K, (k) => `function f(a) { return a.map((x) => x * ${k} + ${k % 3}); }`, ['[0, 1, 2, 3]', '[]']),
  ...family('array', K, (k) => `function f(a) { const n = a.length; return a.map((_, i) => a[(i + ${k}) % n]); }`, [
    '[1, 2, 3, 4, 5]',
  ]),
  ...family(
    'array',
    K,
    (k) => `function f(a) { return a.reduce((acc, x, i) => (i % ${k} === 0 ? acc + x : acc), 0); }`,
    ['[5, 4, 3, 2, 1, 0, 9]'],
  ),
  ...family('array', K, (k) => `function f(n) { return Array.from({ length: n }, (_, i) => (i * ${k}) % 7); }`, ['10']),
  ...family(
    'object',
    K,
    (k) =>
      `function f(a) { const o = {}; for (const x of a) { const key = "k" + (x % ${k + 1}); o[key] = (o[key] || []).concat(x); } return o; }`,
    ['[1, 2, 3, 4, 5, 6, 7, 8]'],
  ),
  ...family(
    'object',
    K,
    (k) => `function f(o) { return Object.fromEntries(Object.entries(o).map(([key, v]) => [key + ${k}, v * ${k}])); }`,
    ['{ a: 1, b: 2 }'],
  ),
  ...family('mapset', K, (k) => `function f(a) { return new Set(a.map((x) => x % ${k + 1})); }`, [
    '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]',
  ]),
  ...family(
    'mapset',
    K,
    (k) =>
      `function f(a) { const m = new Map(); for (const x of a) m.set(x % ${k + 2}, (m.get(x % ${k + 2}) || 0) + x); return m; }`,
    ['[3, 8, 13, 21, 34]'],
  ),
  ...family(
    'math',
    K,
    (k) =>
      `function f(n) { let s = 0; for (let i = 1; i < n; i++) if (i % ${k + 2} === 0 || i % ${k + 4} === 0) s += i; return s; }`,
    ['100', '10'],
  ),
  ...family(
    'math',
    K,
    (k) =>
      `function f(n) { let x = n, steps = 0; while (x !== 1 && steps < 1000) { x = x % 2 ? ${k * 2 + 1} * x + 1 : x / 2; steps++; } return [x, steps]; }`,
    ['27', '6'],
  ),
  ...family('math', K, (k) => `function f(n) { return n.toString(${k + 1 > 36 ? 36 : k + 1 < 2 ? 2 : k + 1}); }`, [
    '255',
    '-4096',
  ]),
  ...family('math', K, (k) => `function f(a) { return a.map((x) => Math.round(x * ${k}) / ${k}); }`, [
    '[0.333, 1.5, -2.25]',
  ]),
  ...family(
    'sort',
    K,
    (k) => `function f(a) { return a.slice().sort((x, y) => (x % ${k + 1}) - (y % ${k + 1}) || x - y); }`,
    ['[9, 8, 7, 6, 5, 4, 3, 2, 1]'],
  ),
  ...family(
    'sort',
    K,
    (k) => `function f(a) { return a.slice().sort((x, y) => Math.abs(x - ${k}) - Math.abs(y - ${k})); }`,
    ['[-3, 10, 4, 7, 0, 15]'],
  ),
  ...family(
    'sort',
    K,
    (k) =>
      `function f(words) { return words.slice().sort((a, b) => (a.charCodeAt(${k} % 3) || 0) - (b.charCodeAt(${k} % 3) || 0)); }`,
    ['["pear", "fig", "apple", "kiwi"]'],
  ),
];

export const CORPUS: CorpusEntry[] = [...hand, ...families];

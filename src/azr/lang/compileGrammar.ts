// The typed grammar compiled to an LL(1) context-free grammar with "minimum lexemes to finish" tables.

import {
  BINARY_OPS,
  LANG_TYPES,
  LAMBDA_VAR_TYPES,
  LEVEL,
  PARAM_TYPES,
  POSTFIX_FORMS,
  PREFIX_CALLS,
  RETURN_TYPES,
  SIGNATURES,
  VALUE_TYPES,
  type LangType,
  type ParamName,
  type PostfixForm,
  type Slot,
} from './grammar.js';
import {
  ALPHABET,
  END,
  INT_LEXEMES,
  LEXEMES,
  MAX_ARR_LEN,
  MAX_INDUCTION_INPUTS,
  MAX_MESSAGE_WORDS,
  MAX_STR_LEN,
  MESSAGE_START,
  MESSAGE_WORDS,
  TRACE_ARROW,
  VARIABLE_NAMES,
} from './lexemes.js';

/** A terminal of the compiled grammar. Two terminals may share a lexeme (`a` the variable, `a` the character). */
interface Terminal {
  readonly id: number;
  readonly lexeme: string;
  /** Index of the lexeme in LEXEMES. */
  readonly lexemeId: number;
  readonly role: 'plain' | 'variable' | 'char';
  /** For headers: the index of the signature in SIGNATURES (consuming it puts the parameters in scope). */
  readonly signature: number;
}

/** Zero-length symbols that change which lambda variables are in scope. */
export const MARKER = { enterX: 0, exitX: 1, enterPX: 2, exitPX: 3 } as const;

/** Symbols are numbers: terminals [0, T), markers [T, T + 4), nonterminals [T + 4, …). */
export interface CompiledGrammar {
  readonly terminals: readonly Terminal[];
  /** Terminal ids for each lexeme id. */
  readonly terminalsOfLexeme: readonly (readonly number[])[];
  readonly markerBase: number;
  readonly ntBase: number;
  readonly ntNames: readonly string[];
  /** Live productions of each nonterminal (indices into `productions`). */
  readonly ntProductions: readonly (readonly number[])[];
  readonly productions: readonly Int32Array[];
  /** Minimum number of lexemes each symbol derives (terminals 1, markers 0). */
  readonly minLen: Int32Array;
  readonly nullable: Uint8Array;
  /** Per nonterminal: the terminals that can start it, the production that starts with each, and the least length. */
  readonly firstTerms: readonly Int32Array[];
  readonly firstCost: readonly Int32Array[];
  /** Dense table [nt * T + t] → production index, -1 when t cannot start nt. */
  readonly predict: Int32Array;
  /** Start symbol of each named segment start (`program`, `program:s,n`, `value`, `args:s`, `inputs:s:10`). */
  readonly starts: ReadonlyMap<string, number>;
}

const INF = 1 << 29;

interface Goal {
  readonly level: number;
  readonly mask: number;
  /** For the inside of `( … )`: the goal to continue with after `)`. */
  readonly paren: Goal | null;
  readonly name: string;
}

const typeBit = (t: LangType): number => 1 << LANG_TYPES.indexOf(t);
const maskOf = (ts: readonly LangType[]): number => ts.reduce((m, t) => m | typeBit(t), 0);
const ALL_TYPES = maskOf(LANG_TYPES);
const goal = (level: number, types: readonly LangType[]): Goal => {
  const mask = maskOf(types);
  return { level, mask, paren: null, name: `${level}:${mask}` };
};
const parenGoal = (outer: Goal): Goal => ({
  level: LEVEL.conditional,
  mask: ALL_TYPES,
  paren: outer,
  name: `(${outer.name})`,
});

function varType(name: string): LangType {
  return name === 'x' || name === 'p' ? LAMBDA_VAR_TYPES[name] : PARAM_TYPES[name as ParamName];
}

// ---- terminals ----------------------------------------------------------------------------------------------

/** The terminals, and how to find them: by key (`l:` plain, `v:` variable, `c:` character, then the lexeme). */
interface Terminals {
  readonly list: readonly Terminal[];
  readonly ofLexeme: readonly (readonly number[])[];
  readonly byKey: ReadonlyMap<string, number>;
}

/**
 * One terminal per lexeme, two for a lexeme that is both a variable and a character (`a`). `<end>` is the
 * automaton's, and the trace arrow is no part of the language (traceAutomaton.ts).
 */
function collectTerminals(): Terminals {
  const list: Terminal[] = [];
  const byKey = new Map<string, number>();
  const ofLexeme: number[][] = LEXEMES.map(() => []);
  const add = (key: string, lexeme: string, role: Terminal['role'], signature = -1) => {
    const lexemeId = LEXEMES.indexOf(lexeme);
    if (lexemeId < 0) throw new Error(`grammar uses ${JSON.stringify(lexeme)}, which is not in LEXEMES`);
    const id = list.length;
    list.push({ id, lexeme, lexemeId, role, signature });
    byKey.set(key, id);
    ofLexeme[lexemeId]!.push(id);
  };
  for (const lx of LEXEMES) {
    if (lx === END || lx === TRACE_ARROW) continue;
    const isVar = VARIABLE_NAMES.includes(lx);
    const isChar = ALPHABET.includes(lx);
    if (isVar) add(`v:${lx}`, lx, 'variable');
    if (isChar) add(`c:${lx}`, lx, 'char');
    if (!isVar && !isChar)
      add(
        `l:${lx}`,
        lx,
        'plain',
        SIGNATURES.findIndex((s) => s.header === lx),
      );
  }
  return { list, ofLexeme, byKey };
}

// ---- productions ------------------------------------------------------------------------------------------

/**
 * The productions, built lazily from the start symbols: a nonterminal is named for what it derives, numbered when
 * first used and expanded later ({@link Rules.expandAll}), so only the reachable ones exist. The numbering follows
 * the order of first use; the tables depend on it.
 */
class Rules {
  readonly ntNames: string[] = [];
  private readonly ntByName = new Map<string, number>();
  private readonly rawProds: number[][][] = [];
  private readonly pending: Array<[number, () => number[][]]> = [];
  private readonly terms: Terminals;
  readonly markerBase: number;
  readonly ntBase: number;
  private readonly INT: number;
  private readonly STRBODY: number;
  private readonly BODY: number;
  private readonly MESSAGE: number;

  constructor(terms: Terminals) {
    this.terms = terms;
    this.markerBase = terms.list.length;
    this.ntBase = this.markerBase + 4;
    this.INT = this.nt('INT', () => INT_LEXEMES.map((l) => [this.lit(l)]));
    this.STRBODY = this.nt('STR', () => ALPHABET.map((c) => [this.char(c), this.strRest(1)]));
    this.BODY = this.nt('BODY', () => this.bodyProds());
    this.MESSAGE = this.nt('MESSAGE', () => MESSAGE_WORDS.map((w) => [this.lit(w), this.wordRest(1)]));
  }

  /** The nonterminal called `name`, created (its productions `make`, expanded later) on first use. */
  private nt(name: string, make: () => number[][]): number {
    const known = this.ntByName.get(name);
    if (known !== undefined) return this.ntBase + known;
    const index = this.ntNames.length;
    this.ntNames.push(name);
    this.ntByName.set(name, index);
    this.rawProds.push([]);
    this.pending.push([index, make]);
    return this.ntBase + index;
  }

  /** Expands every nonterminal created so far, and those they create; returns the productions of each. */
  expandAll(): number[][][] {
    while (this.pending.length > 0) {
      const [index, make] = this.pending.pop()!;
      this.rawProds[index] = make();
    }
    return this.rawProds;
  }

  private lit(lexeme: string): number {
    const id = this.terms.byKey.get(`l:${lexeme}`);
    if (id === undefined) throw new Error(`no plain terminal ${lexeme}`);
    return id;
  }
  private variable(name: string): number {
    return this.terms.byKey.get(`v:${name}`)!;
  }
  private char(c: string): number {
    return this.terms.byKey.get(`c:${c}`)!;
  }
  private marker(m: number): number {
    return this.markerBase + m;
  }

  /** The segment starts (`program`, `value`, `program:s,n`, `args:s,n`, `inputs:s,n:k`) and their symbols. */
  startSymbols(): Map<string, number> {
    const starts = new Map<string, number>();
    starts.set(
      'program',
      this.nt('PROGRAM', () => SIGNATURES.map((_, i) => [this.program(i)])),
    );
    starts.set('value', this.value('*'));
    SIGNATURES.forEach((s, i) => {
      starts.set(`program:${s.id}`, this.program(i));
      starts.set(`args:${s.id}`, this.args(i));
      for (let k = 1; k <= MAX_INDUCTION_INPUTS; k++) starts.set(`inputs:${s.id}:${k}`, this.inputs(i, k));
    });
    return starts;
  }

  // -- values

  /** The rest of a string literal after k characters. */
  private strRest(k: number): number {
    return this.nt(`STR+${k}`, () => [
      [this.lit('"')],
      ...(k < MAX_STR_LEN ? ALPHABET.map((c) => [this.char(c), this.strRest(k + 1)]) : []),
    ]);
  }
  /** The rest of an array literal after k elements. */
  private arrRest(k: number): number {
    return this.nt(`ARR+${k}`, () => [
      [this.lit(']')],
      ...(k < MAX_ARR_LEN ? [[this.lit(','), this.INT, this.arrRest(k + 1)]] : []),
    ]);
  }
  private valueProds(t: LangType): number[][] {
    switch (t) {
      case 'int':
        return [[this.INT]];
      case 'bool':
        return [[this.lit('true')], [this.lit('false')]];
      case 'str':
        return [[this.lit('""')], [this.lit('"'), this.STRBODY]];
      case 'arr':
        return [[this.lit('[]')], [this.lit('['), this.INT, this.arrRest(1)]];
      default:
        throw new Error(`no values of type ${t}`);
    }
  }
  /** A literal value of type t (`*` or `any`: of any value type). */
  private value(t: LangType | '*'): number {
    return t === '*' || t === 'any'
      ? this.nt('VALUE', () => VALUE_TYPES.flatMap((v) => this.valueProds(v)))
      : this.nt(`VALUE:${t}`, () => this.valueProds(t));
  }

  // -- expressions

  /** A call's argument: an expression, inside scope markers when it is a lambda's body. */
  private slotSyms(slot: Slot): number[] {
    const body = this.expr(goal(LEVEL.conditional, [slot.type]));
    if (slot.lambda === 'x') return [this.marker(MARKER.enterX), body, this.marker(MARKER.exitX)];
    if (slot.lambda === 'px') return [this.marker(MARKER.enterPX), body, this.marker(MARKER.exitPX)];
    return [body];
  }
  private closeSyms(f: PostfixForm): number[] {
    return f.close === null ? [] : [this.lit(f.close)];
  }
  /** The optional arguments of postfix form `fi` from the i-th on, then its close. */
  private optTail(f: PostfixForm, fi: number, i: number): number {
    return this.nt(`OPT${fi}.${i}`, () => [
      this.closeSyms(f),
      ...(i < f.slots.length ? [[this.lit(','), ...this.slotSyms(f.slots[i]!), this.optTail(f, fi, i + 1)]] : []),
    ]);
  }
  /** A postfix form (`.slice(…)`, `[i]`, `.length`) after its receiver. */
  private formSyms(f: PostfixForm, fi: number): number[] {
    const out = [this.lit(f.open)];
    const required = f.optionalFrom ?? f.slots.length;
    f.slots.slice(0, required).forEach((s, i) => {
      if (i > 0) out.push(this.lit(','));
      out.push(...this.slotSyms(s));
    });
    if (f.optionalFrom !== undefined) {
      if (f.optionalFrom < 1) throw new Error('optional slots must follow a required one');
      out.push(this.optTail(f, fi, required));
    } else out.push(...this.closeSyms(f));
    return out;
  }

  /** A phrase of type X at level `cur` has been read; finish it into goal g. */
  private cont(cur: number, x: LangType, g: Goal): number {
    return this.nt(`C${cur}:${x}:${g.name}`, () => {
      const prods: number[][] = [];
      if (cur === LEVEL.postfix)
        POSTFIX_FORMS.forEach((f, fi) => {
          if (f.receiver === x) prods.push([...this.formSyms(f, fi), this.cont(LEVEL.postfix, f.result, g)]);
        });
      for (const o of BINARY_OPS)
        if (o.level === cur && o.left === x)
          prods.push([this.lit(o.lexeme), this.expr(goal(cur - 1, [o.right])), this.cont(cur, o.result, g)]);
      prods.push(...this.contEnd(cur, x, g));
      return prods;
    });
  }
  /** How a phrase of type X at level `cur` leaves its level: up a level, out of its parentheses, or done. */
  private contEnd(cur: number, x: LangType, g: Goal): number[][] {
    if (cur < g.level) return [[this.cont(cur + 1, x, g)]];
    if (g.paren) return [[this.lit(')'), this.cont(LEVEL.postfix, x, g.paren)]];
    const prods: number[][] = [];
    if (g.mask & typeBit(x)) prods.push([]);
    if (cur === LEVEL.conditional && x === 'bool')
      prods.push([this.lit('?'), this.expr(g), this.lit(':'), this.expr(g)]);
    return prods;
  }

  /** An expression (from its first lexeme) that must end as goal g. */
  private expr(g: Goal): number {
    return this.nt(`E:${g.name}`, () => [
      ...this.atomProds(g),
      ...PREFIX_CALLS.map((c) => this.prefixCallProds(c, g)),
      [this.lit('!'), this.expr(goal(LEVEL.unary, ['bool'])), this.cont(LEVEL.unary, 'bool', g)],
      ...(g.paren ? [] : [[this.lit('('), this.expr(parenGoal(g))]]),
    ]);
  }
  /** Expressions that start with a variable or a literal. */
  private atomProds(g: Goal): number[][] {
    const prods: number[][] = [];
    const post = (t: LangType) => this.cont(LEVEL.postfix, t, g);
    for (const v of VARIABLE_NAMES) prods.push([this.variable(v), post(varType(v))]);
    for (const l of INT_LEXEMES) prods.push([this.lit(l), post('int')]);
    prods.push([this.lit('true'), post('bool')]);
    prods.push([this.lit('false'), post('bool')]);
    prods.push([this.lit('""'), post('str')]);
    prods.push([this.lit('"'), this.STRBODY, post('str')]);
    prods.push([this.lit('[]'), post('arr')]);
    prods.push([this.lit('['), this.INT, this.arrRest(1), post('arr')]);
    return prods;
  }
  /** `Math.max(a, b)` and the like. */
  private prefixCallProds(c: (typeof PREFIX_CALLS)[number], g: Goal): number[] {
    const p = [this.lit(c.open)];
    c.slots.forEach((s, i) => {
      if (i > 0) p.push(this.lit(','));
      p.push(this.expr(goal(LEVEL.conditional, [s])));
    });
    return [...p, this.lit(')'), this.cont(LEVEL.postfix, c.result, g)];
  }

  // -- programs, arguments, induction inputs

  /** `return e;` or `if (b) return e;` then more of the body. */
  private bodyProds(): number[][] {
    const ret = goal(LEVEL.conditional, RETURN_TYPES);
    return [
      [this.lit('return'), this.expr(ret), this.lit(';')],
      [
        this.lit('if ('),
        this.expr(goal(LEVEL.conditional, ['bool'])),
        this.lit(')'),
        this.lit('return'),
        this.expr(ret),
        this.lit(';'),
        this.BODY,
      ],
    ];
  }
  private program(sigIndex: number): number {
    const sig = SIGNATURES[sigIndex]!;
    return this.nt(`PROGRAM:${sig.id}`, () => [[this.lit(sig.header), this.BODY, this.lit('}')]]);
  }
  /** One input: a literal per parameter, comma-separated. */
  private args(sigIndex: number): number {
    const sig = SIGNATURES[sigIndex]!;
    return this.nt(`ARGS:${sig.id}`, () => {
      const out: number[] = [];
      sig.params.forEach((p, i) => {
        if (i > 0) out.push(this.lit(','));
        out.push(this.value(PARAM_TYPES[p]));
      });
      return [out];
    });
  }
  /** The rest of a message after k words. */
  private wordRest(k: number): number {
    return this.nt(`WORDS+${k}`, () => [
      [],
      ...(k < MAX_MESSAGE_WORDS ? MESSAGE_WORDS.map((w) => [this.lit(w), this.wordRest(k + 1)]) : []),
    ]);
  }
  /** An induction proposal's k inputs (`;`-separated), then its message. */
  private inputs(sigIndex: number, k: number): number {
    return this.nt(`INPUTS:${SIGNATURES[sigIndex]!.id}:${k}`, () =>
      k > 1
        ? [[this.args(sigIndex), this.lit(';'), this.inputs(sigIndex, k - 1)]]
        : [[this.args(sigIndex), this.lit(MESSAGE_START), this.MESSAGE]],
    );
  }
}

// ---- tables -----------------------------------------------------------------------------------------------

/** Where the symbol kinds start: terminals [0, T), markers [markerBase, ntBase), nonterminals [ntBase, ntBase + N). */
interface Layout {
  readonly T: number;
  readonly markerBase: number;
  readonly ntBase: number;
  readonly N: number;
}

/** The least number of lexemes of a production (INF when a symbol in it derives no finite string yet). */
function productionLength(p: readonly number[], minLen: Int32Array): number {
  let sum = 0;
  for (const s of p) {
    sum += minLen[s]!;
    if (sum >= INF) return INF;
  }
  return sum;
}

/** The least number of lexemes each symbol derives (terminals 1, markers 0), as a fixpoint. */
function minimumLengths(layout: Layout, rawProds: readonly (readonly number[][])[]): Int32Array {
  const { T, markerBase, ntBase, N } = layout;
  const minLen = new Int32Array(ntBase + N).fill(INF);
  for (let t = 0; t < T; t++) minLen[t] = 1;
  for (let m = markerBase; m < ntBase; m++) minLen[m] = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < N; i++) {
      let best = minLen[ntBase + i]!;
      for (const p of rawProds[i]!) best = Math.min(best, productionLength(p, minLen));
      if (best < minLen[ntBase + i]!) {
        minLen[ntBase + i] = best;
        changed = true;
      }
    }
  }
  return minLen;
}

/** The productions that derive some finite string (the others are dropped), and which symbols are nullable. */
function liveProductions(
  layout: Layout,
  rawProds: readonly (readonly number[][])[],
  minLen: Int32Array,
): { productions: Int32Array[]; ntProductions: number[][]; nullable: Uint8Array } {
  const { markerBase, ntBase, N } = layout;
  const productions: Int32Array[] = [];
  const ntProductions: number[][] = [];
  const nullable = new Uint8Array(ntBase + N);
  for (let m = markerBase; m < ntBase; m++) nullable[m] = 1;
  for (let i = 0; i < N; i++) {
    const live: number[] = [];
    for (const p of rawProds[i]!) {
      if (productionLength(p, minLen) >= INF) continue;
      live.push(productions.length);
      productions.push(Int32Array.from(p));
    }
    ntProductions.push(live);
    if (minLen[ntBase + i] === 0) nullable[ntBase + i] = 1;
  }
  return { productions, ntProductions, nullable };
}

/** For each position j of p: the least number of lexemes after it. */
function suffixLengths(p: Int32Array, minLen: Int32Array): Int32Array {
  const after = new Int32Array(p.length);
  let suffix = 0;
  for (let j = p.length - 1; j >= 0; j--) {
    after[j] = suffix;
    suffix += minLen[p[j]!]!;
  }
  return after;
}

/**
 * The FIRST terminals of each nonterminal with the least completion cost after each, and the LL(1) predict table.
 * Throws on a conflict between productions, and on left recursion.
 */
function predictTable(
  layout: Layout,
  ntNames: readonly string[],
  terminals: readonly Terminal[],
  live: { productions: readonly Int32Array[]; ntProductions: readonly (readonly number[])[]; nullable: Uint8Array },
  minLen: Int32Array,
): { predict: Int32Array; firstTerms: Int32Array[]; firstCost: Int32Array[] } {
  const { T, ntBase, N } = layout;
  const { productions, ntProductions, nullable } = live;
  const predict = new Int32Array(N * T).fill(-1);
  const cost = new Int32Array(N * T).fill(INF);
  const state = new Uint8Array(N); // 0 new, 1 in progress, 2 done
  const firstTerms: Int32Array[] = new Array(N);
  const firstCost: Int32Array[] = new Array(N);

  /** Production pi of nonterminal i can start with terminal t, then needs at least c lexemes in all. */
  const offer = (i: number, pi: number, seen: Set<number>, t: number, c: number) => {
    const at = i * T + t;
    if (seen.has(t) || (predict[at] !== -1 && predict[at] !== pi))
      throw new Error(`LL(1) conflict in ${ntNames[i]} on ${JSON.stringify(terminals[t]!.lexeme)}`);
    seen.add(t);
    predict[at] = pi;
    cost[at] = c;
  };
  /** Offers the terminals that can start production pi of nonterminal i (through its nullable prefix). */
  const offerProduction = (i: number, pi: number) => {
    const p = productions[pi]!;
    const suffixAfter = suffixLengths(p, minLen);
    const seen = new Set<number>();
    for (let j = 0; j < p.length; j++) {
      const s = p[j]!;
      if (s < T) {
        offer(i, pi, seen, s, 1 + suffixAfter[j]!);
        break;
      }
      if (s < ntBase) continue;
      const k = s - ntBase;
      visit(k);
      const ft = firstTerms[k]!;
      const fc = firstCost[k]!;
      for (let q = 0; q < ft.length; q++) offer(i, pi, seen, ft[q]!, fc[q]! + suffixAfter[j]!);
      if (!nullable[s]) break;
    }
  };
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) throw new Error(`left recursion through ${ntNames[i]}`);
    state[i] = 1;
    for (const pi of ntProductions[i]!) offerProduction(i, pi);
    const ts: number[] = [];
    for (let t = 0; t < T; t++) if (predict[i * T + t] !== -1) ts.push(t);
    firstTerms[i] = Int32Array.from(ts);
    firstCost[i] = Int32Array.from(ts, (t) => cost[i * T + t]!);
    state[i] = 2;
  };
  for (let i = 0; i < N; i++) visit(i);
  return { predict, firstTerms, firstCost };
}

/** The typed grammar compiled: terminals, the reachable productions, their lengths, FIRST sets and predict table. */
function compile(): CompiledGrammar {
  const terms = collectTerminals();
  const rules = new Rules(terms);
  const starts = rules.startSymbols();
  const rawProds = rules.expandAll();
  const { markerBase, ntBase, ntNames } = rules;
  const layout: Layout = { T: terms.list.length, markerBase, ntBase, N: ntNames.length };
  const minLen = minimumLengths(layout, rawProds);
  const live = liveProductions(layout, rawProds, minLen);
  const { predict, firstTerms, firstCost } = predictTable(layout, ntNames, terms.list, live, minLen);
  return {
    terminals: terms.list,
    terminalsOfLexeme: terms.ofLexeme,
    markerBase,
    ntBase,
    ntNames,
    ntProductions: live.ntProductions,
    productions: live.productions,
    minLen,
    nullable: live.nullable,
    firstTerms,
    firstCost,
    predict,
    starts,
  };
}

let compiled: CompiledGrammar | undefined;

/** The compiled grammar (built once, on first use). */
export function compiledGrammar(): CompiledGrammar {
  compiled ??= compile();
  return compiled;
}

/** FOLLOW sets of the nonterminals (-1 standing for the end of a segment), as a fixpoint. */
function followSets(g: CompiledGrammar): Set<number>[] {
  const T = g.terminals.length;
  const N = g.ntNames.length;
  const follow: Set<number>[] = Array.from({ length: N }, () => new Set<number>());
  const endTerm = -1;
  for (const s of g.starts.values()) follow[s - g.ntBase]!.add(endTerm);
  const firstOf = (s: number): Iterable<number> => (s < T ? [s] : s < g.ntBase ? [] : g.firstTerms[s - g.ntBase]!);
  for (let changed = true; changed;) {
    changed = false;
    for (let a = 0; a < N; a++)
      for (const pi of g.ntProductions[a]!) {
        const p = g.productions[pi]!;
        for (let j = 0; j < p.length; j++) {
          const b = p[j]!;
          if (b < g.ntBase) continue;
          const fb = follow[b - g.ntBase]!;
          const before = fb.size;
          let k = j + 1;
          for (; k < p.length; k++) {
            for (const t of firstOf(p[k]!)) fb.add(t);
            if (!g.nullable[p[k]!]) break;
          }
          if (k === p.length) for (const t of follow[a]!) fb.add(t);
          if (fb.size !== before) changed = true;
        }
      }
  }
  return follow;
}

/**
 * Checks the LL(1) condition the automaton relies on: for every nullable nonterminal, no terminal that can
 * start it can also follow it. (Conflicts between productions are already rejected while compiling.) Returns
 * the conflicts found, as readable strings; empty when the grammar is LL(1).
 */
export function ll1Conflicts(g: CompiledGrammar = compiledGrammar()): string[] {
  const follow = followSets(g);
  const out: string[] = [];
  for (let a = 0; a < g.ntNames.length; a++) {
    if (!g.nullable[g.ntBase + a]) continue;
    for (const t of g.firstTerms[a]!)
      if (follow[a]!.has(t))
        out.push(`${g.ntNames[a]}: ${JSON.stringify(g.terminals[t]!.lexeme)} both starts and follows it`);
  }
  return out;
}

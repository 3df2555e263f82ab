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
export interface Terminal {
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

function compile(): CompiledGrammar {
  // ---- terminals -------------------------------------------------------------------------------------------
  const terminals: Terminal[] = [];
  const termKey = new Map<string, number>();
  const terminalsOfLexeme: number[][] = LEXEMES.map(() => []);
  const addTerminal = (key: string, lexeme: string, role: Terminal['role'], signature = -1) => {
    const lexemeId = LEXEMES.indexOf(lexeme);
    if (lexemeId < 0) throw new Error(`grammar uses ${JSON.stringify(lexeme)}, which is not in LEXEMES`);
    const id = terminals.length;
    terminals.push({ id, lexeme, lexemeId, role, signature });
    termKey.set(key, id);
    terminalsOfLexeme[lexemeId]!.push(id);
  };
  for (const lx of LEXEMES) {
    if (lx === END || lx === TRACE_ARROW) continue; // the trace arrow is no part of the language: traceAutomaton.ts
    const isVar = VARIABLE_NAMES.includes(lx);
    const isChar = ALPHABET.includes(lx);
    if (isVar) addTerminal(`v:${lx}`, lx, 'variable');
    if (isChar) addTerminal(`c:${lx}`, lx, 'char');
    if (!isVar && !isChar)
      addTerminal(
        `l:${lx}`,
        lx,
        'plain',
        SIGNATURES.findIndex((s) => s.header === lx),
      );
  }
  const T = terminals.length;
  const markerBase = T;
  const ntBase = T + 4;
  const lit = (lexeme: string): number => {
    const id = termKey.get(`l:${lexeme}`);
    if (id === undefined) throw new Error(`no plain terminal ${lexeme}`);
    return id;
  };
  const varT = (name: string) => termKey.get(`v:${name}`)!;
  const charT = (c: string) => termKey.get(`c:${c}`)!;
  const mark = (m: number) => markerBase + m;

  // ---- nonterminals, built lazily from the start symbols ---------------------------------------------------
  const ntNames: string[] = [];
  const ntByName = new Map<string, number>();
  const rawProds: number[][][] = [];
  const pending: Array<[number, () => number[][]]> = [];
  const nt = (name: string, make: () => number[][]): number => {
    const known = ntByName.get(name);
    if (known !== undefined) return ntBase + known;
    const index = ntNames.length;
    ntNames.push(name);
    ntByName.set(name, index);
    rawProds.push([]);
    pending.push([index, make]);
    return ntBase + index;
  };

  const INT = nt('INT', () => INT_LEXEMES.map((l) => [lit(l)]));
  const strRest = (k: number): number =>
    nt(`STR+${k}`, () => [[lit('"')], ...(k < MAX_STR_LEN ? ALPHABET.map((c) => [charT(c), strRest(k + 1)]) : [])]);
  const STRBODY = nt('STR', () => ALPHABET.map((c) => [charT(c), strRest(1)]));
  const arrRest = (k: number): number =>
    nt(`ARR+${k}`, () => [[lit(']')], ...(k < MAX_ARR_LEN ? [[lit(','), INT, arrRest(k + 1)]] : [])]);

  const valueProds = (t: LangType): number[][] => {
    switch (t) {
      case 'int':
        return [[INT]];
      case 'bool':
        return [[lit('true')], [lit('false')]];
      case 'str':
        return [[lit('""')], [lit('"'), STRBODY]];
      case 'arr':
        return [[lit('[]')], [lit('['), INT, arrRest(1)]];
      default:
        throw new Error(`no values of type ${t}`);
    }
  };
  const value = (t: LangType | '*'): number =>
    t === '*' || t === 'any'
      ? nt('VALUE', () => VALUE_TYPES.flatMap(valueProds))
      : nt(`VALUE:${t}`, () => valueProds(t));

  const slotSyms = (slot: Slot): number[] => {
    const body = expr(goal(LEVEL.conditional, [slot.type]));
    if (slot.lambda === 'x') return [mark(MARKER.enterX), body, mark(MARKER.exitX)];
    if (slot.lambda === 'px') return [mark(MARKER.enterPX), body, mark(MARKER.exitPX)];
    return [body];
  };
  const closeSyms = (f: PostfixForm): number[] => (f.close === null ? [] : [lit(f.close)]);
  const optTail = (f: PostfixForm, fi: number, i: number): number =>
    nt(`OPT${fi}.${i}`, () => [
      closeSyms(f),
      ...(i < f.slots.length ? [[lit(','), ...slotSyms(f.slots[i]!), optTail(f, fi, i + 1)]] : []),
    ]);
  const formSyms = (f: PostfixForm, fi: number): number[] => {
    const out = [lit(f.open)];
    const required = f.optionalFrom ?? f.slots.length;
    f.slots.slice(0, required).forEach((s, i) => {
      if (i > 0) out.push(lit(','));
      out.push(...slotSyms(s));
    });
    if (f.optionalFrom !== undefined) {
      if (f.optionalFrom < 1) throw new Error('optional slots must follow a required one');
      out.push(optTail(f, fi, required));
    } else out.push(...closeSyms(f));
    return out;
  };

  /** A phrase of type X at level `cur` has been read; finish it into goal g. */
  const cont = (cur: number, x: LangType, g: Goal): number =>
    nt(`C${cur}:${x}:${g.name}`, () => {
      const prods: number[][] = [];
      if (cur === LEVEL.postfix)
        POSTFIX_FORMS.forEach((f, fi) => {
          if (f.receiver === x) prods.push([...formSyms(f, fi), cont(LEVEL.postfix, f.result, g)]);
        });
      for (const o of BINARY_OPS)
        if (o.level === cur && o.left === x)
          prods.push([lit(o.lexeme), expr(goal(cur - 1, [o.right])), cont(cur, o.result, g)]);
      if (cur < g.level) prods.push([cont(cur + 1, x, g)]);
      else if (g.paren) prods.push([lit(')'), cont(LEVEL.postfix, x, g.paren)]);
      else {
        if (g.mask & typeBit(x)) prods.push([]);
        if (cur === LEVEL.conditional && x === 'bool') prods.push([lit('?'), expr(g), lit(':'), expr(g)]);
      }
      return prods;
    });

  /** An expression (from its first lexeme) that must end as goal g. */
  const expr = (g: Goal): number =>
    nt(`E:${g.name}`, () => {
      const prods: number[][] = [];
      for (const v of VARIABLE_NAMES) prods.push([varT(v), cont(LEVEL.postfix, varType(v), g)]);
      for (const l of INT_LEXEMES) prods.push([lit(l), cont(LEVEL.postfix, 'int', g)]);
      prods.push([lit('true'), cont(LEVEL.postfix, 'bool', g)]);
      prods.push([lit('false'), cont(LEVEL.postfix, 'bool', g)]);
      prods.push([lit('""'), cont(LEVEL.postfix, 'str', g)]);
      prods.push([lit('"'), STRBODY, cont(LEVEL.postfix, 'str', g)]);
      prods.push([lit('[]'), cont(LEVEL.postfix, 'arr', g)]);
      prods.push([lit('['), INT, arrRest(1), cont(LEVEL.postfix, 'arr', g)]);
      for (const c of PREFIX_CALLS) {
        const p = [lit(c.open)];
        c.slots.forEach((s, i) => {
          if (i > 0) p.push(lit(','));
          p.push(expr(goal(LEVEL.conditional, [s])));
        });
        prods.push([...p, lit(')'), cont(LEVEL.postfix, c.result, g)]);
      }
      prods.push([lit('!'), expr(goal(LEVEL.unary, ['bool'])), cont(LEVEL.unary, 'bool', g)]);
      if (!g.paren) prods.push([lit('('), expr(parenGoal(g))]);
      return prods;
    });

  const RET = goal(LEVEL.conditional, RETURN_TYPES);
  const body: number = nt('BODY', () => [
    [lit('return'), expr(RET), lit(';')],
    [lit('if ('), expr(goal(LEVEL.conditional, ['bool'])), lit(')'), lit('return'), expr(RET), lit(';'), body],
  ]);
  const program = (sigIndex: number) =>
    nt(`PROGRAM:${SIGNATURES[sigIndex]!.id}`, () => [[lit(SIGNATURES[sigIndex]!.header), body, lit('}')]]);
  const args = (sigIndex: number) =>
    nt(`ARGS:${SIGNATURES[sigIndex]!.id}`, () => {
      const out: number[] = [];
      SIGNATURES[sigIndex]!.params.forEach((p, i) => {
        if (i > 0) out.push(lit(','));
        out.push(value(PARAM_TYPES[p]));
      });
      return [out];
    });
  const wordRest = (k: number): number =>
    nt(`WORDS+${k}`, () => [[], ...(k < MAX_MESSAGE_WORDS ? MESSAGE_WORDS.map((w) => [lit(w), wordRest(k + 1)]) : [])]);
  const message = nt('MESSAGE', () => MESSAGE_WORDS.map((w) => [lit(w), wordRest(1)]));
  const inputs = (sigIndex: number, k: number): number =>
    nt(`INPUTS:${SIGNATURES[sigIndex]!.id}:${k}`, () =>
      k > 1 ? [[args(sigIndex), lit(';'), inputs(sigIndex, k - 1)]] : [[args(sigIndex), lit(MESSAGE_START), message]],
    );

  const starts = new Map<string, number>();
  starts.set(
    'program',
    nt('PROGRAM', () => SIGNATURES.map((_, i) => [program(i)])),
  );
  starts.set('value', value('*'));
  SIGNATURES.forEach((s, i) => {
    starts.set(`program:${s.id}`, program(i));
    starts.set(`args:${s.id}`, args(i));
    for (let k = 1; k <= MAX_INDUCTION_INPUTS; k++) starts.set(`inputs:${s.id}:${k}`, inputs(i, k));
  });

  while (pending.length > 0) {
    const [index, make] = pending.pop()!;
    rawProds[index] = make();
  }
  const N = ntNames.length;
  const S = ntBase + N;

  // ---- minimum lengths (fixpoint), then drop dead productions -------------------------------------------
  const minLen = new Int32Array(S).fill(INF);
  for (let t = 0; t < T; t++) minLen[t] = 1;
  for (let m = markerBase; m < ntBase; m++) minLen[m] = 0;
  const prodLen = (p: readonly number[]) => {
    let sum = 0;
    for (const s of p) {
      sum += minLen[s]!;
      if (sum >= INF) return INF;
    }
    return sum;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < N; i++) {
      let best = minLen[ntBase + i]!;
      for (const p of rawProds[i]!) best = Math.min(best, prodLen(p));
      if (best < minLen[ntBase + i]!) {
        minLen[ntBase + i] = best;
        changed = true;
      }
    }
  }
  const productions: Int32Array[] = [];
  const ntProductions: number[][] = [];
  const nullable = new Uint8Array(S);
  for (let m = markerBase; m < ntBase; m++) nullable[m] = 1;
  for (let i = 0; i < N; i++) {
    const live: number[] = [];
    for (const p of rawProds[i]!) {
      if (prodLen(p) >= INF) continue;
      live.push(productions.length);
      productions.push(Int32Array.from(p));
    }
    ntProductions.push(live);
    if (minLen[ntBase + i] === 0) nullable[ntBase + i] = 1;
  }

  // ---- FIRST terminals with least completion cost, and the LL(1) predict table ---------------------------
  const predict = new Int32Array(N * T).fill(-1);
  const cost = new Int32Array(N * T).fill(INF);
  const state = new Uint8Array(N); // 0 new, 1 in progress, 2 done
  const firstTerms: Int32Array[] = new Array(N);
  const firstCost: Int32Array[] = new Array(N);
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) throw new Error(`left recursion through ${ntNames[i]}`);
    state[i] = 1;
    for (const pi of ntProductions[i]!) {
      const p = productions[pi]!;
      let suffix = 0;
      const suffixAfter = new Int32Array(p.length);
      for (let j = p.length - 1; j >= 0; j--) {
        suffixAfter[j] = suffix;
        suffix += minLen[p[j]!]!;
      }
      const seen = new Set<number>();
      const offer = (t: number, c: number) => {
        const at = i * T + t;
        if (seen.has(t) || (predict[at] !== -1 && predict[at] !== pi))
          throw new Error(`LL(1) conflict in ${ntNames[i]} on ${JSON.stringify(terminals[t]!.lexeme)}`);
        seen.add(t);
        predict[at] = pi;
        cost[at] = c;
      };
      for (let j = 0; j < p.length; j++) {
        const s = p[j]!;
        if (s < T) {
          offer(s, 1 + suffixAfter[j]!);
          break;
        }
        if (s < ntBase) continue;
        const k = s - ntBase;
        visit(k);
        const ft = firstTerms[k]!;
        const fc = firstCost[k]!;
        for (let q = 0; q < ft.length; q++) offer(ft[q]!, fc[q]! + suffixAfter[j]!);
        if (!nullable[s]) break;
      }
    }
    const ts: number[] = [];
    for (let t = 0; t < T; t++) if (predict[i * T + t] !== -1) ts.push(t);
    firstTerms[i] = Int32Array.from(ts);
    firstCost[i] = Int32Array.from(ts, (t) => cost[i * T + t]!);
    state[i] = 2;
  };
  for (let i = 0; i < N; i++) visit(i);

  return {
    terminals,
    terminalsOfLexeme,
    markerBase,
    ntBase,
    ntNames,
    ntProductions,
    productions,
    minLen,
    nullable,
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

/**
 * Checks the LL(1) condition the automaton relies on: for every nullable nonterminal, no terminal that can
 * start it can also follow it. (Conflicts between productions are already rejected while compiling.) Returns
 * the conflicts found, as readable strings; empty when the grammar is LL(1).
 */
export function ll1Conflicts(g: CompiledGrammar = compiledGrammar()): string[] {
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
  const out: string[] = [];
  for (let a = 0; a < N; a++) {
    if (!g.nullable[g.ntBase + a]) continue;
    for (const t of g.firstTerms[a]!)
      if (follow[a]!.has(t))
        out.push(`${g.ntNames[a]}: ${JSON.stringify(g.terminals[t]!.lexeme)} both starts and follows it`);
  }
  return out;
}

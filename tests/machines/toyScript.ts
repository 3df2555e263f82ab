// A scripted policy over a toy task family (f(n) = n + k, constants, the identity), for the machine tests.

import { valueSource } from '../../src/azr/index.js';
import type { PolicyRequest } from '../../src/machines/effects.js';
import { runInProcess, type ScriptContext, type ScriptedCompletion } from '../../src/testing.js';

/**
 * Proposer: mostly `f(n) = n + k` with a small int input; sometimes a constant (ignores its input) or an
 * ill-formed program (format error). Induction: N int inputs and a message. Solver: right about half the time,
 * sometimes ill-formed. Every choice is drawn from the request's rng, so runs are reproducible.
 */
export function toyScript(request: PolicyRequest, { rng }: ScriptContext): ScriptedCompletion {
  if (request.role === 'propose') {
    const view = request.view;
    if (view.type === 'induction') {
      const inputs = Array.from({ length: view.inputs }, () => String(rng.int(9)));
      return rng.chance(0.1) ? 'oops' : `${inputs.join('; ')} // add`;
    }
    const r = rng.next();
    if (r < 0.15) return ['function f(n) { return n +; }', '1'];
    if (r < 0.3) return [`function f(n) { return ${rng.int(6)}; }`, String(rng.int(9))];
    return [`function f(n) { return n + ${rng.int(4)}; }`, String(rng.int(9))];
  }
  const view = request.view;
  if (rng.chance(0.1)) return '((';
  const right = rng.chance(0.5);
  if (view.type === 'deduction') {
    const out = runInProcess(view.program, view.input);
    const value = out.ok ? out.value : 0;
    return valueSource(right ? value : typeof value === 'number' ? value + 1 + rng.int(3) : 'zz');
  }
  if (view.type === 'abduction') {
    if (!right) return String(20 + rng.int(5));
    if (view.program.startsWith('function f(a)')) return valueSource(view.output);
    for (let n = -9; n <= 29; n++) {
      const out = runInProcess(view.program, String(n));
      if (out.ok && out.value === view.output) return String(n);
    }
    return '0';
  }
  const p = view.params[0]!;
  if (p === 'a') return right ? 'function f(a) { return a; }' : 'function f(a) { return 1; }';
  return `function f(${view.params.join(', ')}) { return ${p} + ${rng.int(3)}; }`;
}

/** Small settings for the machine tests (paper structure, tiny sizes). */
export const TOY_CONFIG = {
  seed: 7,
  steps: 3,
  batch: { propose: { deduction: 4, abduction: 4, induction: 3 }, solve: { deduction: 4, abduction: 4, induction: 3 } },
  references: 2,
  inductionInputs: 4,
  learnabilitySamples: 4,
  seedSize: 3,
  probeEvery: 2,
  checkpointEvery: 2,
} as const;

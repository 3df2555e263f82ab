// The algorithm as pure code: everything src/azr exports, in one place.

export * from './rng.js';
export * from './defaults.js';
export * from './grammar.js';
export * from './lexemes.js';
export * from './value.js';
export * from './automaton.js';
export { ll1Conflicts } from './compileGrammar.js';
export * from './tokenize.js';
export * from './lex.js';
export * from './render.js';
export * from './generate.js';
export * from './message.js';
export * from './tasks.js';
export * from './views.js';
export * from './solverReward.js';
export * from './learnability.js';
export * from './novelty.js';
export * from './trr.js';
export * from './buffer.js';
export * from './seeds.js';
export * from './probe.js';
export * from './passAtK.js';
export * from './trace.js';
export * from './traceAutomaton.js';

// The algorithm as pure code: everything src/azr exports, in one place. The task language lives in ./lang/ and is
// re-exported here under the same names.

export * from './rng.js';
export * from './defaults.js';

// the task language
export * from './lang/grammar.js';
export * from './lang/lexemes.js';
export * from './lang/value.js';
export * from './lang/automaton.js';
export { ll1Conflicts } from './lang/compileGrammar.js';
export * from './lang/tokenize.js';
export * from './lang/lex.js';
export * from './lang/render.js';
export * from './lang/generate.js';
export * from './lang/message.js';
export * from './lang/traceAutomaton.js';

// the algorithm
export * from './tasks.js';
export * from './views.js';
export * from './solverReward.js';
export * from './learnability.js';
export * from './novelty.js';
export * from './inputDependence.js';
export * from './trr.js';
export * from './buffer.js';
export * from './seeds.js';
export * from './probe.js';
export * from './passAtK.js';
export * from './trace.js';
export * from './traceScaffold.js';

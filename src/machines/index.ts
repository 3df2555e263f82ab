// The self-play actors as XState machines, the coordinator that reads as the AZR step, and their effect contracts.

export * from './config.js';
export * from './effects.js';
export * from './protocol.js';
export * from './bufferMachine.js';
export * from './proposerMachine.js';
export * from './solverMachine.js';
export * from './executorMachine.js';
export * from './learnerMachine.js';
export * from './phases.js';
export * from './coordinatorMachine.js';
export * from './withEffects.js';
export * from './actorStateInspector.js';

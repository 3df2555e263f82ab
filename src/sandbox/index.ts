// The sandboxed executor: public API (pool, task checks, canonical values, static check, types).
export { SandboxPool, resolveLimits, type PoolOptions, type PoolStats } from './pool.js';
export {
  validateProposal,
  validateProposals,
  checkDeduction,
  checkDeductions,
  checkAbduction,
  checkAbductions,
  checkInduction,
  checkInductions,
  type Sandbox,
  type Validation,
  type AnswerCheck,
  type InductionCheck,
  type ValidateOptions,
  type AbductionOptions,
} from './tasks.js';
export {
  parseValue,
  reprValue,
  valueKey,
  equalCanonical,
  toCanonicalText,
  canonicalFromJs,
  type CanonicalValue,
  type ParseResult,
} from './canonical.js';
export { DEFAULT_BANNED, checkProgram, checkArguments, checkExpression, type CheckResult } from './staticCheck.js';
export { runExec, type ExecOptions } from './runExec.js';
export { parseRequest } from './request.js';
export {
  DEFAULT_LIMITS,
  ERROR_KINDS,
  MAX_STACK_BYTES,
  type ErrorKind,
  type SandboxError,
  type RunResult,
  type SandboxLimits,
  type BannedRule,
  type Isolation,
  type Job,
} from './types.js';

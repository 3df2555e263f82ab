// `npm run bench -- sandbox`: validations/s through the whole `azr exec` process vs an AZR-style Python pool.
//
// azr side: `node bin/azr.js exec -q FILE` on N tiny programs (each distinct), timed from spawn to exit, so process
// start-up (azr exec starts from a cached plain-JS bundle, built on the first run after a change: see
// src/platform/bundle.mjs), worker start-up, JSON parsing and output are all included. Every request is fully
// validated: parsed alone as a script (by QuickJS; by acorn, with the banned-list walk, whenever a banned name could
// occur — these programs name none), statically checked, run twice in the hardened QuickJS context, both results
// serialised and compared, and compared with `expected`.
//
// Baseline (what the original AZR does, minus its extra overheads): a persistent pool of 2 `python3 -I -S` worker
// processes, started by this script. Each task is one JSON line on the worker's stdin; the worker `exec`s the
// equivalent Python program in a fresh globals dict, evaluates `f(<input>)` twice, compares the results with `!=`,
// and writes back `repr` of the result (or the exception) as one JSON line. Dispatch is one task per message and one
// task in flight per worker, as pebble's ProcessPool does (AZR itself runs a single worker; we give it two cores).
// Unlike AZR, there is no pickling, no timeout_decorator and no per-step pool restart, so the baseline is optimistic.
// Timed from spawning the two workers to the last answer, so Python start-up is included too.
//
// The two alternate for --reps repetitions (default 5, --n 50000 programs each); medians and the per-repetition ratio
// are printed, plus azr's start-up (spawn to first answer) and its rate after that, since start-up includes loading
// every command `azr` wires. Then p50/p99 latency of one normal validation through the pool API (in-process,
// 2 workers, requests sent one at a time, after 200 warm-up requests).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SandboxPool } from '../src/sandbox/pool.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Task {
  js: string;
  py: string;
  input: string;
  expected: string; // JS canonical text of the result (the Python repr is checked separately)
}

/** Four shapes of tiny programs (as in reference/stack-measurements.md §1), each made distinct by a constant. */
function tasks(n: number): Task[] {
  const words = ['hello', 'absolute', 'zero', 'reasoner', 'sandbox', 'quickjs', 'python', 'determinism'];
  const out: Task[] = [];
  for (let i = 0; i < n; i++) {
    const w = words[i % words.length]!;
    const k = i;
    switch (i % 4) {
      case 0:
        out.push({
          js: `function f(s) {\n  return s.split('').reverse().join('') + s.length * ${k};\n}`,
          py: `def f(s):\n    return s[::-1] + str(len(s) * ${k})`,
          input: JSON.stringify(w),
          expected: JSON.stringify(w.split('').reverse().join('') + w.length * k),
        });
        break;
      case 1:
        out.push({
          js: `function f(s) {\n  return s.toUpperCase() + '-${k}';\n}`,
          py: `def f(s):\n    return s.upper() + '-${k}'`,
          input: JSON.stringify(w),
          expected: JSON.stringify(`${w.toUpperCase()}-${k}`),
        });
        break;
      case 2:
        out.push({
          js: `function f(s) {\n  let t = ${k};\n  for (const c of s) t += c.charCodeAt(0);\n  return t;\n}`,
          py: `def f(s):\n    t = ${k}\n    for c in s:\n        t += ord(c)\n    return t`,
          input: JSON.stringify(w),
          expected: String([...w].reduce((t, c) => t + c.charCodeAt(0), k)),
        });
        break;
      default:
        out.push({
          js: `function f(a) {\n  return [...a, ${k % 97}].sort((x, y) => x - y);\n}`,
          py: `def f(a):\n    return sorted(a + [${k % 97}])`,
          input: '[5, 3, 9, 1]',
          expected: `[${[5, 3, 9, 1, k % 97].sort((x, y) => x - y).join(', ')}]`,
        });
    }
  }
  return out;
}

const PY_WORKER = `
import sys, json
def main():
    out = sys.stdout
    for line in sys.stdin:
        req = json.loads(line)
        try:
            g = {}
            exec(req["program"], g)
            call = "f(" + req["input"] + ")"
            r1 = eval(call, g)
            r2 = eval(call, g)
            if r1 != r2:
                res = {"ok": False, "error": "nondeterministic"}
            else:
                res = {"ok": True, "output": repr(r1)}
        except BaseException as e:
            res = {"ok": False, "error": type(e).__name__ + ": " + str(e)}
        out.write(json.dumps(res) + "\\n")
        out.flush()
main()
`;

async function runPython(ts: Task[]): Promise<{ seconds: number; ok: number }> {
  const t0 = performance.now();
  const workers: ChildProcessWithoutNullStreams[] = [0, 1].map(() => spawn('python3', ['-I', '-S', '-c', PY_WORKER]));
  let next = 0;
  let ok = 0;
  await Promise.all(
    workers.map(async (w) => {
      const lines = createInterface({ input: w.stdout })[Symbol.asyncIterator]();
      while (next < ts.length) {
        const t = ts[next++]!;
        w.stdin.write(JSON.stringify({ program: t.py, input: t.input }) + '\n');
        const reply = await lines.next();
        if (reply.done) throw new Error('python worker exited');
        if ((JSON.parse(reply.value) as { ok: boolean }).ok) ok++;
      }
      w.stdin.end();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
  return { seconds, ok };
}

async function runAzr(file: string): Promise<{ seconds: number; ok: number; firstAnswer: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin/azr.js'), 'exec', '-q', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let ok = 0;
  let i = 0;
  let firstAnswer = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    if (i === 0) firstAnswer = (performance.now() - t0) / 1000;
    const r = JSON.parse(line) as { ok: boolean; output?: string; match?: boolean };
    if (r.ok && r.match === true) ok++;
    else if (i < 3) process.stderr.write(`unexpected azr answer for task ${i}: ${line}\n`);
    i++;
  }
  const code = await new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', r),
  );
  if (code !== 0) throw new Error(`azr exec exited with ${code}`);
  return { seconds: (performance.now() - t0) / 1000, ok, firstAnswer };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

export async function main(args: string[]): Promise<void> {
  const n = arg(args, '--n', 50_000);
  const reps = arg(args, '--reps', 5);
  const latencyN = arg(args, '--latency-n', 2000);
  const ts = tasks(n);
  const dir = mkdtempSync(join(tmpdir(), 'azr-bench-'));
  const file = join(dir, 'requests.jsonl');
  writeFileSync(
    file,
    ts.map((t) => JSON.stringify({ program: t.js, input: t.input, expected: t.expected })).join('\n') + '\n',
  );
  console.log(
    `sandbox bench: ${n} tiny programs per run, ${reps} alternating repetitions (shared 2-core machine: expect noise)`,
  );

  const py: number[] = [];
  const azr: number[] = [];
  const steady: number[] = [];
  const starts: number[] = [];
  const ratios: number[] = [];
  try {
    for (let r = 0; r < reps; r++) {
      const p = await runPython(ts);
      const a = await runAzr(file);
      if (p.ok !== n) throw new Error(`python baseline answered ${p.ok}/${n} correctly`);
      if (a.ok !== n) throw new Error(`azr exec matched ${a.ok}/${n}`);
      py.push(n / p.seconds);
      azr.push(n / a.seconds);
      ratios.push(n / a.seconds / (n / p.seconds));
      steady.push((n - 1) / (a.seconds - a.firstAnswer));
      starts.push(a.firstAnswer);
      console.log(
        `  rep ${r + 1}: python pool ${(n / p.seconds).toFixed(0)}/s (${p.seconds.toFixed(2)} s), azr exec ${(n / a.seconds).toFixed(0)}/s ` +
          `(${a.seconds.toFixed(2)} s, first answer after ${a.firstAnswer.toFixed(2)} s), ratio ${(p.seconds / a.seconds).toFixed(2)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Latency of one normal validation through the pool API, one request at a time.
  const pool = new SandboxPool({ workers: 2 });
  await pool.ready();
  const lat: number[] = [];
  const lts = tasks(latencyN + 200);
  for (let i = 0; i < lts.length; i++) {
    const t = lts[i]!;
    const t0 = performance.now();
    const r = await pool.run({ type: 'validate', program: t.js, input: t.input, staticCheck: true, determinism: true });
    if (i >= 200) lat.push(performance.now() - t0); // the first 200 warm the JITs up
    if (!r.ok) throw new Error(`latency run failed: ${JSON.stringify(r)}`);
  }
  await pool.close();

  const ratio = median(ratios);
  const p99 = quantile(lat, 0.99);
  console.log(
    `python pool (2 × python3 -I -S, exec in fresh globals, f twice): median ${median(py).toFixed(0)} validations/s`,
  );
  console.log(
    `azr exec (2 QuickJS workers, whole process):                  median ${median(azr).toFixed(0)} validations/s`,
  );
  console.log(
    `  of which: azr start-up to the first answer median ${median(starts).toFixed(2)} s; after it, median ${median(steady).toFixed(0)} validations/s ` +
      `(${(median(steady) / median(py)).toFixed(2)}× the python pool's whole-run rate)`,
  );
  console.log(
    `ratio azr/python: median ${ratio.toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}); target ≥ 1.5`,
  );
  console.log(
    `latency of one validation via the pool API: p50 ${quantile(lat, 0.5).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (n=${lat.length}); target p99 < 5 ms`,
  );
  console.log(JSON.stringify({ bench: 'sandbox', ratio: Number(ratio.toFixed(3)), p99ms: Number(p99.toFixed(3)) }));
}

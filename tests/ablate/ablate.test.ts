// `azr ablate` and `azr report` through the real CLI (`node bin/azr.js …`): a tiny sweep (2 variants × 2 seeds of
// tiny.yaml, 2 steps each, 2 jobs) stopped with Ctrl-C after its first finished run, restarted, then its report checked
// against numbers recomputed here from the runs' events.jsonl.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioLoadError } from '../../src/config/load.js';
import { loadSweep } from '../../src/ablate/sweep.js';
import { azr, ROOT } from '../azrProcess.js';
import { waitUntil } from '../support/waitUntil.js';

/** The tiny base models (one per seed), kept between test runs: a cache entry is keyed by all its weights depend on. */
const CACHE = path.join(tmpdir(), 'azr-scenario-tests-cache');
const dir = mkdtempSync(path.join(tmpdir(), 'azr-ablate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const TINY = path.join(ROOT, 'scenarios/tiny.yaml');

describe('sweep files', () => {
  it('resolves each variant: base → sweep set → variant set → --set, the run named after the variant', () => {
    const file = write(
      'ok.yaml',
      `base: ${TINY}\nset: { selfPlay.steps: 3 }\nseeds: [4, 9]\nvariants:\n  - name: a\n  - name: b\n    set: { selfPlay: { steps: 5 }, learner.klCoef: 0 }\n`,
    );
    const s = loadSweep(file, {
      overrides: [{ path: ['selfPlay', 'references'], value: 2, source: 'selfPlay.references=2' }],
    });
    expect(s.name).toBe('ok');
    expect(s.seeds).toEqual([4, 9]);
    expect(
      s.variants.map((v) => [
        v.scenario.name,
        v.scenario.selfPlay.steps,
        v.scenario.learner.klCoef,
        v.scenario.selfPlay.references,
      ]),
    ).toEqual([
      ['a', 3, 0.05, 2],
      ['b', 5, 0, 2],
    ]);
    expect(loadSweep(file, { seeds: 3 }).seeds).toEqual([1, 2, 3]);
  });

  // each case is written to bad-<its position, from 1>.yaml, which its expected messages name
  const badSweeps: [what: string, text: string, ...expected: string[]][] = [
    [
      'an unknown sweep key',
      `base: ${TINY}\nvaraints: []\n`,
      "bad-1.yaml:2:1: varaints: unknown field (did you mean 'variants'?)",
    ],
    ['no variants', `base: ${TINY}\nvariants: []\n`, 'bad-2.yaml:2:11: variants: Too small'],
    [
      'a variant named twice',
      `base: ${TINY}\nvariants:\n  - name: a\n  - name: a\n`,
      "bad-3.yaml:4:11: variants.1.name: variant 'a' is named twice",
    ],
    [
      'a bad value in a variant’s set',
      `base: ${TINY}\nvariants:\n  - name: a\n    set: { selfPlay.steps: -1 }\n`,
      "(variant 'a') is invalid:\n  ",
      'bad-4.yaml:4:28: selfPlay.steps: ',
    ],
    [
      'an unknown field in a variant’s set',
      `base: ${TINY}\nvariants:\n  - name: a\n    set:\n      selfPlay.stepz: 1\n`,
      "bad-5.yaml:5:23: selfPlay.stepz: unknown field (did you mean 'steps'?)",
    ],
    [
      'a missing base file',
      'base: nowhere.yaml\nvariants: [{ name: a }]\n',
      'bad-6.yaml:1:7: base: cannot read scenario',
    ],
  ];
  it.each(badSweeps.map(([what, text, ...expected], i) => ({ what, text, expected, n: i + 1 })))(
    '$what is an error with its file:line:col',
    ({ text, expected, n }) => {
      const file = write(`bad-${n}.yaml`, text);
      let err: unknown;
      try {
        loadSweep(file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScenarioLoadError);
      for (const e of expected) expect((err as Error).message).toContain(e);
    },
  );

  it('azr ablate exits 2 on a bad sweep file, starting nothing', async () => {
    const file = write('bad-cli.yaml', `base: ${TINY}\nvariants:\n  - name: a\n    set: { selfPlay.seedSize: 0 }\n`);
    const r = azr(['ablate', file, '--out', path.join(dir, 'never')]);
    expect(await r.exit).toBe(2);
    expect(r.out.stderr).toMatch(/bad-cli\.yaml:4:31: selfPlay\.seedSize: Too small/);
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('azr ablate exits 2 when a variant names a probe file that does not exist, starting nothing', async () => {
    const file = write(
      'bad-probe.yaml',
      `base: ${TINY}\nvariants:\n  - name: full\n  - name: elsewhere\n    set: { probe.file: ${path.join(dir, 'no-probe.jsonl')} }\n`,
    );
    const r = azr(['ablate', file, '--out', path.join(dir, 'never-probe')]);
    expect(await r.exit).toBe(2);
    expect(r.out.stderr).toContain(`variant 'elsewhere': probe.file: cannot read ${path.join(dir, 'no-probe.jsonl')}`);
    expect(existsSync(path.join(dir, 'never-probe'))).toBe(false);
  });
});

// ---- recomputed here, independently of src/ablate/report.ts ----------------------------------------------------------

type Ev = Record<string, unknown> & { type: string; step: number };
const events = (runDir: string): Ev[] =>
  readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Ev);

function recompute(runDir: string) {
  const es = events(runDir);
  const probes = es.filter((e) => e.type === 'probe.evaluated');
  const acc = probes[probes.length - 1]!.accuracy as Record<string, number | null>;
  const proposals = es.filter((e) => e.type === 'proposal.validated' && e.step >= 1);
  const valid = proposals.filter((e) => e.valid === true);
  const learn = valid.map((e) => e.learnability).filter((x): x is number => typeof x === 'number');
  const durations = es.filter((e) => e.type === 'step.finished').map((e) => e.durationMs as number);
  const started = es.find((e) => e.type === 'run.started')!.scenario as { name: string; seed: number };
  return {
    variant: started.name,
    seed: started.seed,
    overall: acc.overall!,
    deduction: acc.deduction,
    validRate: valid.length / proposals.length,
    learnability: learn.reduce((a, b) => a + b, 0) / learn.length,
    secondsPerStep: durations.reduce((a, b) => a + b, 0) / durations.length / 1000,
    finished: es[es.length - 1]!,
  };
}

const meanStd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean: m, std: Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) };
};

const runDirsOf = (out: string): string[] =>
  ['full', 'no-induction'].flatMap((v) =>
    [1, 2].flatMap((s) => {
      const slot = path.join(out, v, `seed-${s}`);
      return existsSync(slot)
        ? readdirSync(slot)
            .filter((n) => statSync(path.join(slot, n)).isDirectory())
            .map((n) => path.join(slot, n))
        : [];
    }),
  );

const completedOf = (out: string) =>
  runDirsOf(out).filter((d) => {
    try {
      const last = events(d).pop()!;
      return last.type === 'run.finished' && last.reason === 'completed';
    } catch {
      return false;
    }
  });

describe('azr ablate on a tiny sweep (2 variants × 2 seeds, jobs 2)', () => {
  const out = path.join(dir, 'sweep-out');
  const sweep = write(
    'tiny-sweep.yaml',
    [
      '# two arms of tiny.yaml, two steps each',
      `base: ${TINY}`,
      'set: { selfPlay.steps: 2, selfPlay.probeEvery: 1, selfPlay.checkpointEvery: 1 }',
      'seeds: 2',
      'variants:',
      '  - name: full',
      '  - name: no-induction',
      '    set: { selfPlay.taskTypes: [deduction, abduction] }',
      '',
    ].join('\n'),
  );
  const args = ['ablate', sweep, '--jobs', '2', '--out', out, '--set', `run.cacheDir=${CACHE}`];

  it('stops on Ctrl-C after the first finished run; run again, it keeps the finished runs and completes the rest', async () => {
    // Arrange + Act 1: interrupt once a run has completed
    const first = azr(args);
    await waitUntil(() => / completed in /.test(first.out.stderr), {
      what: 'a completed run',
      timeoutMs: 120_000,
      intervalMs: 100,
      detail: () => `stderr:\n${first.out.stderr}`,
    });
    first.child.kill('SIGINT');
    expect(await first.exit, first.out.stderr).toBe(130);
    const kept = completedOf(out);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    const before = new Map(
      kept.map((d) => [
        d,
        {
          text: readFileSync(path.join(d, 'events.jsonl'), 'utf8'),
          mtime: statSync(path.join(d, 'events.jsonl')).mtimeMs,
        },
      ]),
    );

    // Act 2: the same command again
    const second = azr(args);
    expect(await second.exit, second.out.stderr).toBe(0);

    // Assert: kept runs untouched and not started again; every slot holds one completed run
    expect(second.out.stderr).toContain(`(${kept.length} completed earlier, kept)`);
    for (const [d, b] of before) {
      const [variant, seed] = [
        path.basename(path.dirname(path.dirname(d))),
        path.basename(path.dirname(d)).replace('seed-', ''),
      ];
      expect(second.out.stderr).not.toMatch(new RegExp(`(starting|resuming) ${variant} seed ${seed}\\b`));
      expect(readFileSync(path.join(d, 'events.jsonl'), 'utf8')).toBe(b.text);
      expect(statSync(path.join(d, 'events.jsonl')).mtimeMs).toBe(b.mtime);
    }
    expect(runDirsOf(out)).toHaveLength(4);
    expect(completedOf(out)).toHaveLength(4);
    const summary = JSON.parse(second.out.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(summary).toMatchObject({ runs: 4, completed: 4, skipped: kept.length, failed: [], interrupted: false });
  }, 240_000);

  it('reports numbers equal to those recomputed from the runs’ events.jsonl, with plots and their specs', () => {
    const runs = runDirsOf(out).map(recompute);
    const lines = readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((c, i) => [header[i]!, c])));
    expect(rows.map((r) => r.variant)).toEqual(['full', 'no-induction']);
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    for (const row of rows) {
      const rs = runs.filter((r) => r.variant === row.variant);
      expect(rs.map((r) => r.seed).sort()).toEqual([1, 2]);
      for (const r of rs) expect(r.finished).toMatchObject({ type: 'run.finished', reason: 'completed', steps: 2 });
      const overall = meanStd(rs.map((r) => r.overall));
      const valid = meanStd(rs.map((r) => r.validRate));
      const learn = meanStd(rs.map((r) => r.learnability));
      const sps = meanStd(rs.map((r) => r.secondsPerStep));
      expect(Number(row.final_overall_mean)).toBeCloseTo(overall.mean, 12);
      expect(Number(row.final_overall_std)).toBeCloseTo(overall.std, 12);
      expect(Number(row.valid_rate_mean)).toBeCloseTo(valid.mean, 12);
      expect(Number(row.valid_rate_std)).toBeCloseTo(valid.std, 12);
      expect(Number(row.learnability_mean)).toBeCloseTo(learn.mean, 12);
      expect(Number(row.seconds_per_step_mean)).toBeCloseTo(sps.mean, 9);
      expect(Number(row.steps_mean)).toBe(2);
      const pm = (m: { mean: number; std: number }, scale = 100, d = 1) =>
        `${(scale * m.mean).toFixed(d)} ± ${(scale * m.std).toFixed(d)}`;
      expect(report).toContain(`| ${row.variant} | 2 | ${pm(overall)} | `);
      expect(report).toContain(` | ${pm(valid)} | ${pm(learn, 1, 3)} | 2 | ${pm(sps, 1, 2)} |`);
    }
    for (const p of ['probe-accuracy', 'valid-proposals']) {
      expect(readFileSync(path.join(out, 'plots', `${p}.svg`), 'utf8')).toMatch(
        /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      );
      const spec = JSON.parse(readFileSync(path.join(out, 'plots', `${p}.vl.json`), 'utf8')) as {
        data: { values: { variant: string; step: number }[] };
      };
      expect(new Set(spec.data.values.map((v) => v.variant))).toEqual(new Set(['full', 'no-induction']));
      expect(report).toContain(`(plots/${p}.svg)`);
    }
  });

  it('azr report builds the same comparison from the existing runs', async () => {
    const again = path.join(dir, 'report-again');
    const r = azr(['report', out, '--out', again]);
    expect(await r.exit, r.out.stderr).toBe(0);
    expect(readFileSync(path.join(again, 'results.csv'), 'utf8')).toBe(
      readFileSync(path.join(out, 'results.csv'), 'utf8'),
    );
    expect(existsSync(path.join(again, 'plots', 'probe-accuracy.svg'))).toBe(true);
  });

  it('refuses an --out holding runs of a variant whose scenario changed, and leaves that folder as it was', async () => {
    // Arrange: the same sweep with one more step per run
    const changed = write(
      'tiny-sweep-changed.yaml',
      readFileSync(sweep, 'utf8').replace('selfPlay.steps: 2', 'selfPlay.steps: 3'),
    );
    const before = ['sweep.yaml', 'full/scenario.yaml', 'no-induction/scenario.yaml'].map((f) =>
      readFileSync(path.join(out, f), 'utf8'),
    );
    // Act
    const r = azr(['ablate', changed, '--jobs', '2', '--out', out, '--set', `run.cacheDir=${CACHE}`]);
    // Assert
    expect(await r.exit, r.out.stderr).toBe(2);
    expect(r.out.stderr).toContain(`holds runs of a different 'full' (its scenario changed since they started)`);
    expect(
      ['sweep.yaml', 'full/scenario.yaml', 'no-induction/scenario.yaml'].map((f) =>
        readFileSync(path.join(out, f), 'utf8'),
      ),
    ).toEqual(before);
    expect(completedOf(out)).toHaveLength(4);
  });

  it('azr report exits 2, writing nothing, when a folder holds no run', async () => {
    const empty = mkdtempSync(path.join(dir, 'empty-'));
    const r = azr(['report', empty, '--out', path.join(empty, 'report')]);
    expect(await r.exit).toBe(2);
    expect(r.out.stderr).toContain(`no run directory (holding events.jsonl) in ${empty}`);
    expect(readdirSync(empty)).toEqual([]);
  });
});

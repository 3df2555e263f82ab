// The folders of src/ are its layers (docs/ARCHITECTURE.md, "Layers"): a module imports its own folder or a folder of
// a lower layer, never one above or beside it, and no chain of imports comes back to where it started. The imports are
// read with TypeScript's own pre-processor (static, dynamic and type-only imports and re-exports alike).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Bottom to top. Folders on one line are peers: they may not import each other. */
const LAYERS: readonly (readonly string[])[] = [
  ['platform'], // worker threads for TypeScript entries, cached esbuild bundles
  ['azr'], // the algorithm: tasks, rewards, TRR++, buffers, seeding; the task language (azr/lang)
  ['sandbox', 'gpu', 'streams'], // QuickJS executor; the transformer and its learner; events, credit, logs
  ['machines', 'feed'], // the XState actors of a step; the live feed (websocket server, dashboard, replay, watch)
  ['config', 'nats'], // scenario schema and loading, pretraining options; NATS: connection, executor transport, job queue
  ['pretrain'], // the base model: its data, pretraining, the probe evaluator, the base cache
  ['services'], // what the actors' effects call: policy, executor, learner, generator proposer, checkpoints
  ['run'], // one self-play run put together: runner, inputs, progress, report
  ['ablate'], // sweeps of runs: variants × seeds, the comparison report and plots
  ['cli'], // the `azr` command and its subcommands
];
/** Files at the top of src/: public entry points. They may import anything; nothing in src imports them. */
const ENTRIES: readonly string[] = ['testing.ts'];

const SRC = path.resolve(import.meta.dirname, '../src');
const SOURCE = /\.(ts|mts|js|mjs)$/;

type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Every source file under `root` (paths relative to it, with `/`) and the source files it imports. */
function readImports(root: string): ImportGraph {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(path.join(root, dir))) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (SOURCE.test(name)) files.push(rel);
    }
  };
  walk('');
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(path.join(root, file), 'utf8'), true, true);
    const targets: string[] = [];
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package
      const target = resolve(root, path.posix.join(path.posix.dirname(file), fileName));
      if (target === undefined) throw new Error(`${file}: cannot resolve the import '${fileName}'`);
      targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The file a relative specifier names (`./x.js` is `./x.ts` in source; `./x.mjs` may be `./x.mts`). */
function resolve(root: string, spec: string): string | undefined {
  const candidates = [spec, spec.replace(/\.js$/, '.ts'), spec.replace(/\.mjs$/, '.mts')];
  return candidates.find((c) => existsSync(path.join(root, c)) && statSync(path.join(root, c)).isFile());
}

/** The layer folder of a file: its first path segment, or '' for a file at the top of src. */
const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '');

/** The strongly connected components with more than one node (or a self-loop): every cycle of `graph`. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** Every breach of the layering in `graph`, one line each (empty when the house is in order). */
export function layeringViolations(
  graph: ImportGraph,
  layers: readonly (readonly string[])[] = LAYERS,
  entries: readonly string[] = ENTRIES,
): string[] {
  const rank = new Map<string, number>();
  layers.forEach((peers, r) => peers.forEach((folder) => rank.set(folder, r)));
  const problems: string[] = [];
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (from === '' ? !entries.includes(file) : !rank.has(from)) {
      problems.push(
        `${file}: ${from === '' ? 'a file at the top of src that is not an entry' : `folder '${from}' is in no layer`}`,
      );
      continue;
    }
    for (const target of targets) {
      const to = folderOf(target);
      if (to === from) continue;
      if (to === '') {
        problems.push(`${file} imports the entry ${target}`);
        continue;
      }
      if (from === '') continue; // an entry sits above every layer
      if (!rank.has(to)) continue; // reported for the target's own file
      if (rank.get(to)! > rank.get(from)!) problems.push(`${file} imports ${target}: upward (${from} → ${to})`);
      else if (rank.get(to) === rank.get(from)) problems.push(`${file} imports ${target}: sideways (${from} → ${to})`);
      if (!folders.has(from)) folders.set(from, new Set());
      folders.get(from)!.add(to);
    }
  }
  for (const cycle of cycles(new Map([...folders].map(([f, to]) => [f, [...to]]))))
    problems.push(`folder cycle: ${cycle.join(' ⇄ ')}`);
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.join(' ⇄ ')}`);
  return problems;
}

describe('the folders of src are its layers', () => {
  const graph = readImports(SRC);

  it('reads the imports of every source file', () => {
    // a handful of known edges, so a reader that finds nothing cannot pass
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('cli/index.ts')).toContain('cli/commands/run.ts'); // a dynamic import
    expect(graph.get('machines/coordinatorMachine.ts')).toContain('streams/events.ts');
    expect(graph.get('streams/events.ts')).toContain('azr/tasks.ts');
    expect(graph.get('sandbox/workerSource.ts')).toContain('platform/bundle.mjs');
  });

  it('places every folder of src in a layer', () => {
    const onDisk = readdirSync(SRC).filter((name) => statSync(path.join(SRC, name)).isDirectory());
    expect(onDisk.sort()).toEqual(LAYERS.flat().sort());
  });

  it('imports only downward, with no cycle of folders or files', () => {
    expect(layeringViolations(graph)).toEqual([]);
  });

  it('reports an upward import, a sideways one, a folder cycle, a file cycle and a stray folder', () => {
    const layers = [['low'], ['mid', 'peer'], ['high']];
    const bad = new Map<string, string[]>([
      ['low/a.ts', ['high/b.ts']],
      ['high/b.ts', ['low/a.ts', 'mid/c.ts']],
      ['mid/c.ts', ['peer/d.ts']],
      ['peer/d.ts', []],
      ['stray/e.ts', []],
      ['main.ts', ['high/b.ts']],
    ]);
    const problems = layeringViolations(bad, layers, ['main.ts']);
    expect(problems).toEqual([
      'low/a.ts imports high/b.ts: upward (low → high)',
      'mid/c.ts imports peer/d.ts: sideways (mid → peer)',
      "stray/e.ts: folder 'stray' is in no layer",
      'folder cycle: high ⇄ low',
      'import cycle: high/b.ts ⇄ low/a.ts',
    ]);
    expect(layeringViolations(new Map([['low/a.ts', ['main.ts']]]), layers, ['main.ts'])).toEqual([
      'low/a.ts imports the entry main.ts',
    ]);
  });
});

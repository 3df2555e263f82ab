// Writes a comparison of runs into a directory: report.md, results.csv (per variant), runs.csv (per run), plots/*.svg beside their *.vl.json specs.

import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { bandSpec, renderSvg } from './plots.js';
import {
  bands,
  renderComparison,
  resultsCsv,
  runsCsv,
  summarizeVariants,
  type ComparisonText,
  type RunSummary,
  type VariantSummary,
} from './report.js';

export interface ComparisonFiles {
  readonly report: string;
  readonly results: string;
  readonly runs: string;
  readonly plots: readonly string[];
  readonly variants: readonly VariantSummary[];
}

/** Summarizes `runs` by variant and writes every file of the comparison into `outDir`. */
export async function writeComparison(
  runs: readonly RunSummary[],
  outDir: string,
  text: Omit<ComparisonText, 'plots'>,
  options: { order?: readonly string[]; descriptions?: Readonly<Record<string, string>> } = {},
): Promise<ComparisonFiles> {
  const variants = summarizeVariants(runs, options.order, options.descriptions);
  const order = variants.map((v) => v.variant);
  await mkdir(path.join(outDir, 'plots'), { recursive: true });
  const specs = [
    {
      name: 'probe-accuracy',
      caption: 'probe accuracy (overall) vs training step: mean over seeds, band min–max',
      spec: bandSpec(
        'Probe accuracy (overall) — mean over seeds, band: min–max',
        'probe accuracy',
        bands(variants, (r) => r.probeCurve.map((p) => ({ step: p.step, value: p.overall }))),
        order,
      ),
    },
    {
      name: 'valid-proposals',
      caption: 'valid-proposal rate vs training step: mean over seeds, band min–max',
      spec: bandSpec(
        'Valid proposals — mean over seeds, band: min–max',
        'valid proposals',
        bands(variants, (r) => r.validCurve.map((p) => ({ step: p.step, value: p.rate }))),
        order,
      ),
    },
  ];
  const plots: string[] = [];
  for (const s of specs) {
    const base = path.join(outDir, 'plots', s.name);
    await writeFile(`${base}.vl.json`, JSON.stringify(s.spec, null, 2) + '\n');
    await writeFile(`${base}.svg`, await renderSvg(s.spec));
    plots.push(`${base}.svg`);
  }
  const report = path.join(outDir, 'report.md');
  const results = path.join(outDir, 'results.csv');
  const runsFile = path.join(outDir, 'runs.csv');
  await writeFile(
    report,
    renderComparison(variants, {
      ...text,
      plots: specs.map((s) => ({ file: `plots/${s.name}.svg`, caption: s.caption })),
    }),
  );
  await writeFile(results, resultsCsv(variants));
  await writeFile(runsFile, runsCsv(variants.flatMap((v) => v.runs)));
  return { report, results, runs: runsFile, plots, variants };
}

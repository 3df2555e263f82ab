// The comparison plots: Vega-Lite specs (one line per variant, a min–max band over seeds) rendered headlessly to SVG.

import type { BandPoint } from './report.js';

/** A Vega-Lite spec (kept as plain JSON beside its SVG, so a reader can re-render or restyle it). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * Mean over seeds as a line with points, min–max over seeds as a band, one colour per variant (in `order`).
 * `y` is a share in [0, 1], shown as a percentage; the axis starts at 0 and ends just above the data (a probe at
 * 5–10% would be a flat line on a 0–100% axis).
 */
export function bandSpec(
  title: string,
  yTitle: string,
  points: readonly BandPoint[],
  order: readonly string[],
): VegaLiteSpec {
  const color = { field: 'variant', type: 'nominal', sort: [...order], title: 'variant' };
  const y = { type: 'quantitative', title: yTitle, scale: { domainMin: 0, nice: true }, axis: { format: '.0%' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: 300,
    background: 'white',
    data: { values: points.map((p) => ({ ...p })) },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'training step', axis: { tickMinStep: 1 } }, color },
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'min', ...y }, y2: { field: 'max' } } },
      {
        mark: { type: 'line', point: true },
        encoding: {
          y: { field: 'mean', ...y },
          tooltip: [
            { field: 'variant' },
            { field: 'step' },
            { field: 'mean', format: '.1%' },
            { field: 'min', format: '.1%' },
            { field: 'max', format: '.1%' },
            { field: 'n', title: 'seeds' },
          ],
        },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG text in Node (no browser, no canvas). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

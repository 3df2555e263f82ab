// The model's shape rules, zod only: the scenario's `model:` section (src/config/pretrainConfig.ts) and the model's own
// config (GptConfig, model.ts) obey the same ones, declared once here, so the scenario schema loads without tensors.

import type { z } from 'zod';

interface Shape {
  readonly width: number;
  readonly heads: number;
  readonly positions?: 'learned' | 'rope' | undefined;
}

/**
 * `schema` with the model's shape rules: the heads divide the width, and rotary positions need an even head width
 * (each rotated pair of lanes is one frequency). `prefix` names the fields in the messages (`model.` in a scenario).
 */
export function withShapeRules<S extends z.ZodType<Shape>>(schema: S, prefix = ''): S {
  return schema
    .refine((c) => c.width % c.heads === 0, { message: `${prefix}width must be a multiple of ${prefix}heads` })
    .refine((c) => c.positions !== 'rope' || (c.width / c.heads) % 2 === 0, {
      message: 'rotary positions need an even head width',
    });
}

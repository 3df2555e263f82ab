// `azr schema [scenario|sweep] [--out FILE]`: the scenario (or sweep) file format as JSON Schema, for editors to validate and complete files.

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runScenarioJsonSchema } from '../../config/schema.js';
import { sweepJsonSchema } from '../../ablate/sweep.js';

/** Where the published copies live (a test checks they are current; regenerate with `azr schema KIND --out FILE`). */
export const SCHEMA_FILES = { scenario: 'docs/scenario.schema.json', sweep: 'docs/sweep.schema.json' } as const;
export type SchemaKind = keyof typeof SCHEMA_FILES;

/** The JSON Schema document of a file kind (deterministic: same zod schemas, same text). */
export function fileJsonSchema(kind: SchemaKind): Record<string, unknown> {
  if (kind === 'sweep') {
    const { $schema, ...rest } = sweepJsonSchema();
    return {
      $schema,
      title: 'azr ablation sweep',
      description:
        'A sweep for `azr ablate`: a base scenario, overrides, seeds and variants. Generated from src/ablate/sweep.ts; do not edit.',
      ...rest,
    };
  }
  const { $schema, properties, ...rest } = runScenarioJsonSchema() as {
    $schema: string;
    properties: Record<string, unknown>;
  };
  return {
    $schema,
    title: 'azr run scenario',
    description:
      'A scenario for `azr run`: every field has a default, unknown fields are errors. Generated from src/config/schema.ts; do not edit.',
    ...rest,
    properties: {
      extends: {
        type: 'string',
        description:
          'another scenario file (relative to this one) this file is deep-merged over; chains allowed, cycles are errors',
      },
      ...properties,
    },
  };
}

/** The text `azr schema KIND` prints (and docs/KIND.schema.json holds). */
export function fileJsonSchemaText(kind: SchemaKind): string {
  return JSON.stringify(fileJsonSchema(kind), null, 2) + '\n';
}

/** Adds `schema` to the azr command. */
export function addSchemaCommand(program: Command): Command {
  return program
    .command('schema')
    .description(
      'Print the JSON Schema of scenario files (default) or sweep files, with every field’s description, unit and the ' +
        'paper’s value. Point an editor at it, e.g. `# yaml-language-server: $schema=../docs/scenario.schema.json`.',
    )
    .argument('[kind]', 'scenario | sweep', 'scenario')
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(function (this: Command, kind: string, opts: { out?: string }) {
      if (kind !== 'scenario' && kind !== 'sweep')
        this.error(`error: unknown schema '${kind}' (scenario or sweep)`, { exitCode: 2, code: 'azr.usage' });
      const text = fileJsonSchemaText(kind as SchemaKind);
      if (opts.out !== undefined) writeFileSync(opts.out, text);
      else process.stdout.write(text);
    });
}

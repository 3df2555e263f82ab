// The default base model ships with azr (models/default): `npm start` goes straight to self-play. It is built in two
// stages, each committed with its recipe: models/default-stage1 (scenarios/pretrain.yaml) and models/default, which
// continues from it (scenarios/pretrain-reads.yaml, pretrain.init). Each must be what its recipe (seed, model,
// pretrain) builds — trained on today's vocabulary, with the recipe's sections recorded, so its cache key is the
// recipe's (the second stage's key hashes the first stage's files) — or a change to the vocabulary, a recipe or the
// first stage has made it stale.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readBaseModelInfo, vocabFingerprint } from '../../src/pretrain/baseModel.js';
import { baseModelKey } from '../../src/pretrain/baseModelCache.js';
import { ProbeExclusion } from '../../src/pretrain/pretrainData.js';
import { modelConfig } from '../../src/pretrain/pretrain.js';
import { parseProbeJsonl } from '../../src/azr/probe.js';
import { loadPretrainScenario, loadRunScenario } from '../../src/config/load.js';

const SHIPPED = 'models/default';
const STAGES = [
  { base: 'models/default-stage1', recipe: 'scenarios/pretrain.yaml' },
  { base: SHIPPED, recipe: 'scenarios/pretrain-reads.yaml' },
] as const;

describe('the shipped default base (models/default)', () => {
  it('is the base scenarios/default.yaml starts from', async () => {
    const s = await loadRunScenario('scenarios/default.yaml');
    expect(s.base).toBe(SHIPPED);
  });

  it('continues from the first stage', async () => {
    const recipe = await loadPretrainScenario(STAGES[1].recipe);
    expect(recipe.pretrain.init).toBe(STAGES[0].base);
  });

  it.each(STAGES)(
    '$base matches its recipe $recipe: vocabulary, seed, model and pretrain sections, cache key, model config',
    async ({ base, recipe: file }) => {
      const { config, info } = await readBaseModelInfo(base); // refuses another vocabulary
      const recipe = await loadPretrainScenario(file);
      expect(info.vocab.sha256).toBe(vocabFingerprint());
      expect(info.seed).toBe(recipe.seed);
      expect(info.scenario).toEqual(
        JSON.parse(JSON.stringify({ seed: recipe.seed, model: recipe.model, pretrain: recipe.pretrain })),
      );
      expect(info.steps).toBe(recipe.pretrain.steps);
      const exclusion = new ProbeExclusion(parseProbeJsonl(readFileSync('scenarios/probe.jsonl', 'utf8')));
      const shipped = { seed: info.seed, model: info.scenario['model'], pretrain: info.scenario['pretrain'] } as never;
      expect(baseModelKey(shipped, exclusion)).toBe(baseModelKey(recipe, exclusion));
      expect(config).toEqual(modelConfig(recipe));
    },
  );
});

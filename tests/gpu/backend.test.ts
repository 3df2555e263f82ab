import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKENDS, formatBackendReport, initBackend } from '../../src/gpu/backend.js';

describe('initBackend', () => {
  it('falls back past the missing tfjs-node packages to wasm and says why each was skipped', async () => {
    const report = await initBackend();
    expect(report.type).toBe('backend');
    expect(report.chosen).toBe('wasm');
    expect(report.tfBackend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(report.forced).toBe(false);
    expect(report.skipped).toEqual([
      { backend: 'tfjs-node-gpu', reason: 'not installed' },
      { backend: 'tfjs-node', reason: 'not installed' },
    ]);
    expect(report.wasm?.threads).toBe(1);
    expect(formatBackendReport(report)).toContain('skipped tfjs-node-gpu: not installed');
  });

  it('reports a native package that is installed but fails to load, with its error', async () => {
    const importer = async (specifier: string): Promise<unknown> => {
      if (specifier === '@tensorflow/tfjs-node-gpu')
        throw new Error('libcudart.so.11.0: cannot open shared object file\nstack…');
      throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const report = await initBackend({ importer });
    expect(report.chosen).toBe('wasm');
    expect(report.skipped[0]).toEqual({
      backend: 'tfjs-node-gpu',
      reason: 'libcudart.so.11.0: cannot open shared object file',
    });
    expect(report.skipped[1]).toEqual({ backend: 'tfjs-node', reason: 'not installed' });
  });

  it('reports a package that loads but registers no backend (e.g. a duplicate tfjs-core)', async () => {
    const report = await initBackend({ importer: async () => ({}) });
    expect(report.chosen).toBe('wasm');
    expect(report.skipped.map((s) => s.backend)).toEqual(['tfjs-node-gpu', 'tfjs-node']);
    expect(report.skipped[0]?.reason).toContain("registered no 'tensorflow' backend");
  });

  it('honours a forced cpu choice and lists the better ones as not forced', async () => {
    const report = await initBackend({ force: 'cpu' });
    expect(report.chosen).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(report.forced).toBe(true);
    expect(report.skipped.map((s) => s.backend)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm']);
    expect(report.wasm).toBeUndefined();
    await initBackend({ force: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails loudly when a forced backend cannot be used', async () => {
    await expect(initBackend({ force: 'tfjs-node' })).rejects.toThrow(
      "backend 'tfjs-node' was forced but cannot be used: not installed",
    );
  });

  it('knows the four backends, best first', () => {
    expect(BACKENDS).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
  });
});

// The feed's command-line surface, parsed by commander without the real cli/index.ts: options of `azr run`, replay and watch.
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { FEED_TOKEN_ENV, addFeedCommands, addFeedRunOptions, feedRunSettings } from '../../src/cli/commands/feed.js';
import { DEFAULT_FEED_PORT } from '../../src/feed/protocol.js';

function runCommand(argv: string[]): Record<string, unknown> {
  const program = new Command().exitOverride();
  let parsed: Record<string, unknown> = {};
  addFeedRunOptions(program.command('run').exitOverride()).action((o: Record<string, unknown>) => {
    parsed = o;
  });
  program.parse(['node', 'azr', 'run', ...argv]);
  return parsed;
}

afterEach(() => {
  delete process.env[FEED_TOKEN_ENV];
});

describe('azr run feed options', () => {
  it('default to a feed on 127.0.0.1 at the default port', () => {
    expect(feedRunSettings(runCommand([]))).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: DEFAULT_FEED_PORT,
      token: undefined,
    });
    expect(feedRunSettings(runCommand(['--no-feed'])).enabled).toBe(false);
    expect(feedRunSettings(runCommand(['--port', '0'])).port).toBe(0);
  });

  it('refuse a non-loopback host without a token, from the flag or the environment', () => {
    expect(() => feedRunSettings(runCommand(['--host', '0.0.0.0']))).toThrow(/--token/);
    expect(feedRunSettings(runCommand(['--host', '0.0.0.0', '--token', 'k']))).toMatchObject({
      host: '0.0.0.0',
      token: 'k',
    });
    process.env[FEED_TOKEN_ENV] = 'from-env';
    expect(feedRunSettings(runCommand(['--host', '0.0.0.0'])).token).toBe('from-env');
    expect(() => runCommand(['--port', 'abc'])).toThrow(/--port/);
  });
});

describe('azr replay and azr watch', () => {
  it('are added with their arguments and options', () => {
    const program = new Command();
    addFeedCommands(program);
    const replay = program.commands.find((c) => c.name() === 'replay')!;
    const watch = program.commands.find((c) => c.name() === 'watch')!;
    expect(replay.registeredArguments.map((a) => a.name())).toEqual(['run-dir']);
    expect(replay.options.map((o) => o.long)).toEqual(['--port', '--host', '--token']);
    expect(watch.registeredArguments.map((a) => a.name())).toEqual(['url']);
    expect(watch.options.map((o) => o.long)).toEqual(['--token', '--from-seq', '--plain', '--follow']);
  });
});

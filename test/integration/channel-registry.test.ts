import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { createCliChannel } from '../../src/host/channels/adapters/cli.ts';
import { createWebchatChannel } from '../../src/host/channels/adapters/webchat/index.ts';
import type { Channel } from '../../src/host/channels/channel.ts';
import { hasCapability } from '../../src/host/channels/channel.ts';
import {
  ChannelConnectionError,
  createChannelRegistry,
  UnknownChannelError,
} from '../../src/host/channels/registry.ts';
import { createLogger } from '../../src/host/logger.ts';

const options = () => ({
  clock: () => new Date('2026-03-01T10:00:00.000Z'),
  log: createLogger('silent'),
  filesDir: mkdtempSync(join(tmpdir(), 'warren-registry-')),
});
const sink = async () => {};

/** A channel whose connect always fails, as a platform with a revoked token would. */
const brokenChannel = (type: string): Channel => ({
  type,
  capabilities: 0,
  connect: async () => {
    throw new Error('token revoked');
  },
  disconnect: async () => {},
  send: async () => ({ platformMessageId: null }),
  health: () => ({ connected: false, lastInboundAt: null, lastOutboundAt: null, lastError: 'token revoked' }),
});

test('registered channels are found by type and listed in registration order', () => {
  const registry = createChannelRegistry();
  const webchat = createWebchatChannel(options());
  const cli = createCliChannel({ ...options(), operatorSecret: 'install-secret' });
  registry.register(webchat);
  registry.register(cli);
  expect(registry.get('cli')).toBe(cli);
  expect(registry.list().map((c) => c.type)).toEqual(['webchat', 'cli']);
  expect(cli.mountPath).toBe('/cli');
  expect(hasCapability(cli.capabilities, 'Buttons')).toBe(true);
  expect(hasCapability(cli.capabilities, 'Edit')).toBe(true); // edits are streamed as their own events
});

test('a second channel of the same type is refused', () => {
  const registry = createChannelRegistry();
  registry.register(createWebchatChannel(options()));
  expect(() => registry.register(createWebchatChannel(options()))).toThrow(/"webchat" is already registered/);
  expect(registry.list()).toHaveLength(1);
});

test('asking for an unknown type names it and the registered ones', () => {
  const registry = createChannelRegistry();
  registry.register(createWebchatChannel(options()));
  expect(() => registry.get('telegram')).toThrow(UnknownChannelError);
  expect(() => registry.get('telegram')).toThrow(
    'no channel of type "telegram" is registered (registered: webchat)',
  );
});

test('connectAll and disconnectAll move every channel, and health is reported per type', async () => {
  const registry = createChannelRegistry();
  registry.register(createWebchatChannel(options()));
  registry.register(createCliChannel({ ...options(), operatorSecret: 'install-secret' }));
  await registry.connectAll(sink);
  expect(registry.health()).toEqual({
    webchat: { connected: true, lastInboundAt: null, lastOutboundAt: null, lastError: null },
    cli: { connected: true, lastInboundAt: null, lastOutboundAt: null, lastError: null },
  });
  await registry.disconnectAll();
  expect(Object.values(registry.health()).map((h) => h.connected)).toEqual([false, false]);
});

test('a channel that fails to connect is named, and the others still connect', async () => {
  const registry = createChannelRegistry();
  registry.register(brokenChannel('telegram'));
  registry.register(createWebchatChannel(options()));
  const failure = await registry.connectAll(sink).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(ChannelConnectionError);
  expect((failure as ChannelConnectionError).message).toBe(
    '1 channel(s) failed to connect: telegram (token revoked)',
  );
  expect(registry.health().webchat!.connected).toBe(true);
});

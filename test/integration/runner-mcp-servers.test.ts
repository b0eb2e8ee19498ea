// The openai runner's approved MCP servers as real child processes: the dependency-free calc server
// of test/fixtures, a command that does not exist, and one that dies at start.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { LogFields } from '../../container/agent-runner/src/log.ts';
import { createMcpServers, type McpServers } from '../../container/agent-runner/src/providers/mcp-servers.ts';

const calcScript = fileURLToPath(new URL('../fixtures/mcp-calc-server.mjs', import.meta.url));
const calc = { name: 'calc', command: process.execPath, args: [calcScript], env: { CALC_GREETING: 'hi ' } };

let servers: McpServers | undefined;
afterEach(async () => {
  await servers?.close();
  servers = undefined;
});

function recordingLog() {
  const lines: { level: string; msg: string; fields: LogFields }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: LogFields = {}) =>
      lines.push({ level, msg, fields });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('the approved MCP servers of an openai runner', () => {
  test('start on first use, list their tools and answer calls with the approved environment', async () => {
    const { lines, log } = recordingLog();
    servers = createMcpServers({ servers: [calc], log });
    expect(lines).toEqual([]); // nothing starts before a turn asks

    const listed = await servers.list();
    expect(listed.map((s) => [s.server, s.tools.map((t) => t.name)])).toEqual([['calc', ['add', 'echo']]]);
    expect(await servers.call('calc', 'add', { a: 2, b: 3 })).toMatchObject({
      content: [{ type: 'text', text: '5' }],
    });
    expect(await servers.call('calc', 'echo', { text: 'there' })).toMatchObject({
      content: [{ type: 'text', text: 'hi there' }],
    });
    expect(lines.map((l) => l.msg)).toContain('MCP server started');
    expect(lines.find((l) => l.msg === 'MCP server output')?.fields).toEqual({
      server: 'calc',
      line: 'calc server ready',
    });
    // Started once, kept for the next turn.
    await servers.list();
    expect(lines.filter((l) => l.msg === 'MCP server started')).toHaveLength(1);
  });

  test('a server that cannot start is left out and said to be unavailable; the others still work', async () => {
    const { lines, log } = recordingLog();
    servers = createMcpServers({
      servers: [
        { name: 'missing', command: '/no/such/mcp-server', args: [], env: {} },
        {
          name: 'dies',
          command: process.execPath,
          args: ['-e', "process.stderr.write('no API key given\\n'); process.exit(3)"],
          env: {},
        },
        calc,
      ],
      log,
    });

    expect((await servers.list()).map((s) => s.server)).toEqual(['calc']);
    const down = Object.fromEntries(servers.unavailable().map((d) => [d.server, d.reason]));
    expect(Object.keys(down).sort()).toEqual(['dies', 'missing']);
    expect(down.missing).toMatch(/^it could not be started: .*ENOENT/);
    expect(down.dies).toMatch(/^it could not be started: .*closed/i);
    const failed = lines.filter((l) => l.msg.startsWith('MCP server could not be started'));
    expect(failed.map((l) => l.fields.server).sort()).toEqual(['dies', 'missing']);
    expect(failed.find((l) => l.fields.server === 'dies')?.fields.lastOutput).toBe('no API key given');
    await expect(servers.call('dies', 'anything', {})).rejects.toThrow(
      /the MCP server "dies" is not running \(it could not be started/,
    );
    // Not tried again in this runner: the next turn does not wait for it.
    await servers.list();
    expect(lines.filter((l) => l.msg.startsWith('MCP server could not be started'))).toHaveLength(2);
  });

  test('a server that exits later is marked down, and its tools are no longer listed', async () => {
    const { lines, log } = recordingLog();
    servers = createMcpServers({
      servers: [{ ...calc, env: { CALC_EXIT_AFTER_CALLS: '1' } }],
      log,
    });
    await servers.list();
    expect(await servers.call('calc', 'add', { a: 1, b: 2 })).toMatchObject({ content: [{ text: '3' }] });

    await vi.waitFor(() => expect(servers!.unavailable()).toEqual([{ server: 'calc', reason: 'it exited' }]));
    expect(lines.find((l) => l.msg.startsWith('MCP server exited'))?.fields).toMatchObject({
      server: 'calc',
    });
    expect(await servers.list()).toEqual([]);
    await expect(servers.call('calc', 'add', { a: 1, b: 2 })).rejects.toThrow(
      'the MCP server "calc" is not running (it exited)',
    );
  });

  test('closing stops every server, and is no failure', async () => {
    const { lines, log } = recordingLog();
    servers = createMcpServers({ servers: [calc], log });
    await servers.list();

    await servers.close();
    expect(servers.unavailable()).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    await expect(servers.call('calc', 'add', { a: 1, b: 1 })).rejects.toThrow();
  });
});

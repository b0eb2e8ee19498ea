import { describe, expect, test } from 'vitest';
import type { AgentGroup } from '../../src/db/agent-groups.ts';
import { approvedMcpServers } from '../../src/host/approvals/index.ts';
import { ConfigError, readConfig } from '../../container/agent-runner/src/config.ts';
import {
  functionTools,
  offeredTools,
  serverOfName,
  serverToolName,
  unavailableServersNote,
  type McpToolLike,
} from '../../container/agent-runner/src/providers/openai-tools.ts';

const env = { WARREN_SESSION_DIR: '/session', WARREN_PROVIDER: 'openai', WARREN_MODEL: 'gpt-x' };
const calc = {
  name: 'calc',
  command: 'node',
  args: ['/workspace/group/calc.mjs'],
  env: { CALC_GREETING: 'hi' },
};
const tool = (name: string, description?: string): McpToolLike => ({
  name,
  ...(description ? { description } : {}),
  inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
});

describe('the approved MCP servers in the runner’s environment', () => {
  test('are a JSON list of name, command, arguments and environment; none when unset', () => {
    expect(readConfig(env).mcpServers).toEqual([]);
    expect(readConfig({ ...env, WARREN_MCP_SERVERS: JSON.stringify([calc]) }).mcpServers).toEqual([calc]);
    expect(
      readConfig({ ...env, WARREN_MCP_SERVERS: '[{"name":"weather","command":"weather-mcp"}]' }).mcpServers,
    ).toEqual([{ name: 'weather', command: 'weather-mcp', args: [], env: {} }]);
  });

  test('that cannot be read stop the runner with an error naming the variable and the problem', () => {
    const read = (value: string) => () => readConfig({ ...env, WARREN_MCP_SERVERS: value });
    expect(read('calc')).toThrow(ConfigError);
    expect(read('calc')).toThrow(
      'WARREN_MCP_SERVERS must be a JSON array of {"name","command","args","env"}',
    );
    expect(read('{"name":"calc"}')).toThrow('WARREN_MCP_SERVERS must be a JSON array');
    expect(read('[{"name":"a b","command":"node"}]')).toThrow(
      'WARREN_MCP_SERVERS.0.name letters, digits, _ and - (at most 64)',
    );
    expect(read('[{"name":"calc"}]')).toThrow(/WARREN_MCP_SERVERS\.0\.command/);
    expect(read('[{"name":"calc","command":"node","cwd":"/"}]')).toThrow(/Unrecognized key: "cwd"/);
    expect(read(JSON.stringify([calc, calc]))).toThrow('WARREN_MCP_SERVERS must name each server once');
    expect(read('[{"name":"warren","command":"node"}]')).toThrow(
      /"warren" is the name of the runner's own tools/,
    );
  });
});

describe('the approved MCP servers the host hands the runner', () => {
  const group = (mcpServers: unknown): AgentGroup =>
    ({ id: 'ag_1', containerConfig: { mcpServers } }) as unknown as AgentGroup;

  test('are every server container_config records, by name', () => {
    const { name: _name, ...config } = calc;
    expect(approvedMcpServers(group({ zeta: { command: 'z', args: [], env: {} }, calc: config }))).toEqual({
      servers: [calc, { name: 'zeta', command: 'z', args: [], env: {} }],
      invalid: [],
    });
    expect(approvedMcpServers(group(undefined))).toEqual({ servers: [], invalid: [] });
  });

  test('leave out, and name, an entry that does not fit what an approval writes', () => {
    const { servers, invalid } = approvedMcpServers(
      group({
        calc: { command: 'node', args: [], env: {} },
        broken: { args: 'x' },
        warren: { command: 'node' },
      }),
    );
    expect(servers.map((s) => s.name)).toEqual(['calc']);
    expect(invalid.map((i) => i.name)).toEqual(['broken', 'warren']);
    expect(invalid[0]!.problem).toContain('command');
  });
});

describe('the tools an openai agent is offered', () => {
  test('a server’s tool is named <server>__<tool> in the characters function names allow', () => {
    expect(serverToolName('calc', 'add')).toBe('calc__add');
    expect(serverToolName('files', 'read.file/v2')).toBe('files__read_file_v2');
    const long = serverToolName('s'.repeat(40), 't'.repeat(40));
    expect(long).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(serverToolName('s'.repeat(40), `${'t'.repeat(39)}u`)).not.toBe(long);
  });

  test('ours keep their names; each server tool is routed to its server and says where it is from', () => {
    const offer = offeredTools(
      [tool('send_message', 'Sends a message.')],
      [
        { server: 'calc', tools: [tool('add', 'Adds two numbers.'), tool('echo')] },
        { server: 'other', tools: [tool('add')] },
      ],
    );
    expect(offer.tools.map((t) => t.name)).toEqual(['send_message', 'calc__add', 'calc__echo', 'other__add']);
    expect(offer.tools[0]!.description).toBe('Sends a message.');
    expect(offer.tools[1]!.description).toBe('Adds two numbers. (from the MCP server "calc")');
    expect(offer.routes.get('calc__add')).toEqual({ server: 'calc', tool: 'add' });
    expect(offer.routes.get('other__add')).toEqual({ server: 'other', tool: 'add' });
    expect(offer.routes.has('send_message')).toBe(false);
    expect(functionTools(offer.tools).map((t) => t.function.name)).toEqual(offer.tools.map((t) => t.name));
  });

  test('a server tool whose name is taken is left out, never shadowing one of ours', () => {
    const offer = offeredTools(
      [tool('send__message')],
      [
        { server: 'send', tools: [tool('message')] },
        { server: 'a', tools: [tool('b.c'), tool('b_c')] },
      ],
    );
    expect(offer.tools.map((t) => t.name)).toEqual(['send__message', 'a__b_c']);
    expect(offer.routes.get('a__b_c')).toEqual({ server: 'a', tool: 'b.c' });
    expect(offer.skipped).toEqual([
      { server: 'send', tool: 'message', name: 'send__message' },
      { server: 'a', tool: 'b_c', name: 'a__b_c' },
    ]);
  });

  test('a server that is down is named to the model, and a call of its tools is recognised', () => {
    const down = [{ server: 'calc', reason: 'it could not be started: spawn nope ENOENT' }];
    expect(unavailableServersNote([])).toBe('');
    expect(unavailableServersNote(down)).toContain('- "calc": it could not be started: spawn nope ENOENT');
    expect(serverOfName('calc__add', ['calc'])).toBe('calc');
    expect(serverOfName('send_message', ['calc'])).toBeUndefined();
  });
});

import { describe, expect, test } from 'vitest';
import { ConfigError, DEFAULT_ALLOWED_TOOLS, readConfig } from '../../container/agent-runner/src/config.ts';
import {
  assembleInstructions,
  MAX_AGENT_MD_CHARS,
  type InstructionParts,
} from '../../container/agent-runner/src/instructions.ts';
import { sessionContainerSpec, type SessionSpecInput } from '../../src/host/containers/session-spec.ts';

const parts: InstructionParts = {
  agentMd: null,
  memory: null,
  memoryPath: '/workspace/memory/MEMORY.md',
  destinations: [],
  toolPrefix: '',
};

describe('the agent’s standing instructions', () => {
  test('say how replies work, naming the tools as the model sees them', () => {
    const claude = assembleInstructions({ ...parts, toolPrefix: 'mcp__warren__' });
    expect(claude).toMatch(/^# How you work here\n/);
    expect(claude).toContain('Your final text of a turn is sent as your reply');
    expect(claude).toContain('call mcp__warren__send_message');
    expect(assembleInstructions(parts)).toContain('call send_message');
    expect(assembleInstructions(parts)).toContain('You have no named destinations');
  });

  test('list the destinations the agent may send to', () => {
    const text = assembleInstructions({
      ...parts,
      destinations: [
        { name: 'ops', kind: 'channel' },
        { name: 'researcher', kind: 'agent' },
      ],
    });
    expect(text).toContain(
      'Destinations you may send to with `to`: ops (a chat), researcher (another agent).',
    );
  });

  test('carry AGENT.md, cut when too long, and leave it out when empty', () => {
    expect(assembleInstructions({ ...parts, agentMd: 'You are Bob.\n' })).toContain(
      '# Your instructions (AGENT.md)\nYou are Bob.',
    );
    expect(assembleInstructions({ ...parts, agentMd: '  \n' })).not.toContain('AGENT.md');
    const long = assembleInstructions({ ...parts, agentMd: 'x'.repeat(MAX_AGENT_MD_CHARS + 5) });
    expect(long).toContain(`[… cut: the file is longer than ${MAX_AGENT_MD_CHARS} characters]`);
  });

  test('show the memory and how to change it, only when the agent has a memory folder', () => {
    expect(assembleInstructions(parts)).not.toContain('# Your memory');
    expect(assembleInstructions({ ...parts, memory: '' })).toContain('It is empty so far.');
    const text = assembleInstructions({ ...parts, memory: '- Ana likes tea\n', toolPrefix: 'mcp__warren__' });
    expect(text).toContain('<memory>\n- Ana likes tea\n</memory>');
    expect(text).toContain('call mcp__warren__update_memory with the whole new text');
  });
});

describe('the runner’s model settings', () => {
  const env = { WARREN_SESSION_DIR: '/session', WARREN_PROVIDER: 'claude', WARREN_MODEL: 'claude-x' };

  test('a real provider needs a model', () => {
    expect(() => readConfig({ ...env, WARREN_MODEL: undefined })).toThrow(ConfigError);
    expect(() => readConfig({ ...env, WARREN_MODEL: undefined })).toThrow(/WARREN_MODEL must name the model/);
    expect(readConfig({ WARREN_SESSION_DIR: '/session' }).model).toBeNull();
  });

  test('allowed tools are a JSON list, with file tools as the default', () => {
    expect(readConfig(env).model?.allowedTools).toEqual(DEFAULT_ALLOWED_TOOLS);
    expect(readConfig({ ...env, WARREN_ALLOWED_TOOLS: '["Bash"]' }).model?.allowedTools).toEqual(['Bash']);
    expect(readConfig({ ...env, WARREN_ALLOWED_TOOLS: '[]' }).model?.allowedTools).toEqual([]);
    expect(() => readConfig({ ...env, WARREN_ALLOWED_TOOLS: 'Bash' })).toThrow(
      /WARREN_ALLOWED_TOOLS must be a JSON array/,
    );
  });

  test('defaults: the gateway socket, a home for the agent, bounded retries', () => {
    expect(readConfig(env).model).toMatchObject({
      model: 'claude-x',
      gatewaySocket: '/session/gateway/model.sock',
      homeDir: '/home/agent',
      claudePath: '/app/claude/claude',
      retries: 2,
      timeoutMs: 130_000,
    });
  });
});

describe('the session container of a model agent', () => {
  const input: SessionSpecInput = {
    image: 'localhost/warren-agent:x',
    repoRoot: '/repo',
    sessionId: 'ses_1',
    agentGroupId: 'ag_1',
    provider: 'claude',
    timezone: 'UTC',
    sessionRoot: '/data/sessions/ag_1/ses_1',
    groupDir: '/groups/main',
    gatewayDir: '/data/sessions/ag_1/ses_1/gateway',
    model: 'claude-x',
    allowedTools: ['Bash'],
    modelTimeoutMs: 5000,
    idleExitMs: 60_000,
    pollOnly: false,
    limits: { memoryMb: 512, cpus: 1, pids: 256 },
    user: '1000:1000',
  };

  test('gets the model settings but never a key, and the gateway, home, memory and binary mounts', () => {
    const spec = sessionContainerSpec(input);
    expect(spec.env).toMatchObject({
      WARREN_PROVIDER: 'claude',
      WARREN_MODEL: 'claude-x',
      WARREN_ALLOWED_TOOLS: '["Bash"]',
      WARREN_MODEL_TIMEOUT_MS: '15000',
      HOME: '/home/agent',
    });
    expect(Object.keys(spec.env).filter((k) => /KEY|TOKEN|SECRET/.test(k))).toEqual([]);
    const mounts = Object.fromEntries(spec.mounts.map((m) => [m.containerPath, [m.hostPath, m.readOnly]]));
    expect(mounts).toMatchObject({
      '/session/gateway': ['/data/sessions/ag_1/ses_1/gateway', true],
      '/home/agent': ['/data/sessions/ag_1/ses_1/home', false],
      '/workspace/memory': ['/groups/main/memory', false],
      '/workspace/group': ['/groups/main', true],
      '/app/claude': ['/repo/node_modules/@anthropic-ai/claude-agent-sdk-linux-x64', true],
    });
  });

  test('gets the approved MCP servers as one JSON list, and nothing when there are none', () => {
    const mcpServers = [
      { name: 'calc', command: 'node', args: ['/workspace/group/calc.mjs'], env: { CALC_GREETING: 'hi ' } },
    ];
    expect(JSON.parse(sessionContainerSpec({ ...input, mcpServers }).env.WARREN_MCP_SERVERS!)).toEqual(
      mcpServers,
    );
    expect(sessionContainerSpec({ ...input, provider: 'openai', mcpServers }).env).toHaveProperty(
      'WARREN_MCP_SERVERS',
    );
    expect(sessionContainerSpec({ ...input, mcpServers: [] }).env).not.toHaveProperty('WARREN_MCP_SERVERS');
    expect(sessionContainerSpec(input).env).not.toHaveProperty('WARREN_MCP_SERVERS');
    // The scripted provider starts none, so it is not given them.
    expect(sessionContainerSpec({ ...input, provider: 'scripted', mcpServers }).env).not.toHaveProperty(
      'WARREN_MCP_SERVERS',
    );
  });

  test('an openai agent gets neither a home nor the claude binary; a scripted one no model settings', () => {
    const openai = sessionContainerSpec({ ...input, provider: 'openai' });
    expect(openai.mounts.map((m) => m.containerPath)).not.toContain('/app/claude');
    expect(openai.mounts.map((m) => m.containerPath)).not.toContain('/home/agent');
    const scripted = sessionContainerSpec({ ...input, provider: 'scripted' });
    expect(Object.keys(scripted.env).filter((k) => k.startsWith('WARREN_MODEL'))).toEqual([]);
  });
});

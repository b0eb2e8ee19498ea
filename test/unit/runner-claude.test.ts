import { describe, expect, test } from 'vitest';
import type { ModelConfig } from '../../container/agent-runner/src/config.ts';
import { createClaudeMapper } from '../../container/agent-runner/src/providers/claude-events.ts';
import {
  claudeEnv,
  claudeOptions,
  PLACEHOLDER_API_KEY,
} from '../../container/agent-runner/src/providers/claude.ts';

const config: ModelConfig = {
  model: 'claude-x',
  gatewaySocket: '/session/gateway/model.sock',
  allowedTools: ['Bash', 'Write'],
  timeoutMs: 130_000,
  retries: 2,
  maxSteps: 20,
  homeDir: '/home/agent',
  claudePath: '/app/claude/claude',
};

const sdkMessage =
  (type: 'assistant' | 'user') =>
  (content: unknown[], extra = {}) => ({
    type,
    session_id: 's1',
    parent_tool_use_id: null,
    message: { content },
    ...extra,
  });
const assistant = sdkMessage('assistant');
const user = sdkMessage('user');

/** The event a finished tool call maps to. */
const toolCall = (name: string, args: unknown, isError: boolean, text: string) => ({
  type: 'tool_call',
  name,
  args,
  result: { isError, text },
});

/** The options for a minimal turn: no instructions, no resume, no skills, no MCP servers. */
const optionsWith = (overrides: Partial<Parameters<typeof claudeOptions>[0]> = {}) =>
  claudeOptions({
    config,
    baseUrl: 'x',
    workDir: 'w',
    instructions: '',
    resume: null,
    skills: null,
    mcpServers: [],
    ...overrides,
  });

describe('the Claude SDK message mapper', () => {
  test('a tool call is reported once its result is in, with its arguments and result text', () => {
    const mapper = createClaudeMapper();
    expect(
      mapper.map(
        assistant([{ type: 'tool_use', id: 't1', name: 'mcp__warren__send_message', input: { text: 'hi' } }]),
      ),
    ).toEqual([]);
    expect(
      mapper.map(
        user([{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '{"seq":5}' }] }]),
      ),
    ).toEqual([toolCall('mcp__warren__send_message', { text: 'hi' }, false, '{"seq":5}')]);
  });

  test('a failed tool call keeps its error flag; a subagent’s inner messages are not reported', () => {
    const mapper = createClaudeMapper();
    mapper.map(assistant([{ type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'false' } }]));
    mapper.map(
      assistant([{ type: 'tool_use', id: 'inner', name: 'Read', input: {} }], { parent_tool_use_id: 't9' }),
    );
    expect(mapper.map(user([{ type: 'tool_result', tool_use_id: 'inner', content: 'x' }]))).toEqual([]);
    expect(
      mapper.map(user([{ type: 'tool_result', tool_use_id: 't2', content: 'exit 1', is_error: true }])),
    ).toEqual([toolCall('Bash', { command: 'false' }, true, 'exit 1')]);
  });

  test('a successful result is the final answer, with its usage and the session to resume', () => {
    const mapper = createClaudeMapper();
    const events = mapper.map({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'All done.',
      session_id: 's1',
      usage: {
        input_tokens: 10,
        cache_read_input_tokens: 5,
        cache_creation_input_tokens: 1,
        output_tokens: 7,
      },
    });
    expect(events).toEqual([{ type: 'usage', inputTokens: 16, outputTokens: 7 }]);
    expect(mapper.outcome()).toEqual({ kind: 'answered', text: 'All done.', sessionId: 's1' });
  });

  test('an API error result is a failed model call with its status, even when the SDK throws after it', () => {
    const mapper = createClaudeMapper();
    mapper.map(assistant([{ type: 'text', text: 'API Error: 429 slow down' }], { error: 'rate_limit' }));
    mapper.map({
      type: 'result',
      subtype: 'success',
      is_error: true,
      result: 'API Error: Request rejected (429) · slow down',
      api_error_status: 429,
      session_id: 's1',
    });
    expect(mapper.outcome('Claude Code returned an error result: …')).toEqual({
      kind: 'api_error',
      status: 429,
      text: 'API Error: Request rejected (429) · slow down',
      sessionId: 's1',
    });
  });

  test('a conversation that cannot be resumed is recognised, from the result or from the throw', () => {
    const fromResult = createClaudeMapper();
    fromResult.map({
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      errors: ['No conversation found with session ID: 1111'],
    });
    expect(fromResult.outcome().kind).toBe('resume_failed');
    expect(createClaudeMapper().outcome('No conversation found with session ID: 2222').kind).toBe(
      'resume_failed',
    );
  });

  test('a stream that ends without a result is a failure naming why', () => {
    expect(createClaudeMapper().outcome('spawn /app/claude/claude ENOENT')).toEqual({
      kind: 'failed',
      detail: 'spawn /app/claude/claude ENOENT',
      sessionId: null,
    });
  });
});

describe('the options the SDK runs with', () => {
  const options = claudeOptions({
    config,
    baseUrl: 'http://127.0.0.1:4000',
    workDir: '/home/agent/work',
    instructions: '# How you work here',
    resume: 'sess-1',
    skills: null,
    mcpServers: [],
  });

  test('offer only the allowed built-ins, permit our tools and those, and never bypass permissions', () => {
    expect(options).toMatchObject({
      tools: ['Bash', 'Write'],
      allowedTools: ['mcp__warren', 'Bash', 'Write'],
      permissionMode: 'dontAsk',
      settingSources: [],
      strictMcpConfig: true,
      resume: 'sess-1',
      model: 'claude-x',
      pathToClaudeCodeExecutable: '/app/claude/claude',
      cwd: '/home/agent/work',
    });
    expect(options.systemPrompt).toMatchObject({ preset: 'claude_code', append: '# How you work here' });
    expect(optionsWith()).not.toHaveProperty('resume');
  });

  test('offer the group folder’s skills, and only those, through the Skill tool', () => {
    const withSkills = optionsWith({ skills: { folder: '/workspace/group', names: ['greet', 'report'] } });
    expect(withSkills).toMatchObject({
      tools: ['Bash', 'Write', 'Skill'],
      plugins: [{ type: 'local', path: '/workspace/group' }],
      skills: ['group:greet', 'group:report'],
    });
    expect(options).not.toHaveProperty('plugins');
    expect(options.tools).not.toContain('Skill');
  });

  test('start the approved MCP servers before the first prompt and permit their tools, ours kept apart', () => {
    const withServers = optionsWith({
      mcpServers: [
        { name: 'calc', command: 'node', args: ['/workspace/group/calc.mjs'], env: { PRECISION: '2' } },
        { name: 'weather', command: 'weather-mcp', args: [], env: {} },
      ],
    });
    expect(withServers.mcpServers).toEqual({
      calc: {
        type: 'stdio',
        command: 'node',
        args: ['/workspace/group/calc.mjs'],
        env: { PRECISION: '2' },
        alwaysLoad: true,
      },
      weather: { type: 'stdio', command: 'weather-mcp', args: [], env: {}, alwaysLoad: true },
    });
    expect(withServers.allowedTools).toEqual(['mcp__warren', 'mcp__calc', 'mcp__weather', 'Bash', 'Write']);
    // Offered tools stay the built-ins: MCP tools are not among them, whatever the servers.
    expect(withServers.tools).toEqual(['Bash', 'Write']);
    expect(options.mcpServers).toEqual({});
  });

  test('give the binary the forwarder, a placeholder key, the group’s model everywhere and bounded retries', () => {
    const env = claudeEnv(config, 'http://127.0.0.1:4000');
    expect(env).toMatchObject({
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
      ANTHROPIC_API_KEY: PLACEHOLDER_API_KEY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      ANTHROPIC_SMALL_FAST_MODEL: 'claude-x',
      ANTHROPIC_DEFAULT_HAIKU_MODEL: 'claude-x',
      CLAUDE_CODE_SUBAGENT_MODEL: 'claude-x',
      CLAUDE_CODE_MAX_RETRIES: '2',
      API_TIMEOUT_MS: '130000',
      HOME: '/home/agent',
      CLAUDE_CONFIG_DIR: '/home/agent/.claude',
    });
    // Nothing inherited: no runner variable and nothing that looks like a credential but the placeholder.
    expect(Object.keys(env).filter((k) => k.startsWith('WARREN_'))).toEqual([]);
    expect(Object.entries(env).filter(([k, v]) => /KEY|TOKEN/.test(k) && v !== PLACEHOLDER_API_KEY)).toEqual(
      [],
    );
  });
});

// The `claude` provider: the Claude Agent SDK driving its own `claude` binary (mounted read-only
// from the host's node_modules). The binary talks to the forwarder on loopback, never to the network,
// with a placeholder key the gateway replaces. It sees the runner's tools as the in-process MCP server
// `warren`, the group's approved MCP servers (started by the binary, as `mcp__<name>__<tool>`) and, of
// its built-in tools, only those the agent group allows; nothing else is permitted (permissionMode
// dontAsk). The SDK's session id is kept in session_state, so the next turn resumes the
// conversation; a conversation that cannot be resumed is dropped and the turn runs afresh once.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { McpServerConfig, Options, Query, SDKMessage } from '@anthropic-ai/claude-agent-sdk/core';
import type { McpServerSpec } from '../../../../src/shared/session-content.ts';
import { workDirIn, type ModelConfig } from '../config.ts';
import { type Log } from '../log.ts';
import { createClaudeMapper, type ClaudeOutcome, type SdkMessageLike } from './claude-events.ts';
import type { Forwarder } from './forwarder.ts';
import { describeFailure, stoppedNotice } from './model-failure.ts';
import type { Provider, ProviderEvent, Turn } from './provider.ts';
import { toolProxyServer } from './tool-proxy.ts';
import { errorText } from '../../../../src/shared/error-text.ts';

/** session_state key holding the SDK session to resume. */
export const CLAUDE_SESSION_KEY = 'claude_session';
/** Not a secret: the binary insists on some key, and the gateway replaces whatever it sends. */
export const PLACEHOLDER_API_KEY = 'warren-no-key-in-container';
export const TOOL_SERVER = 'warren';
export const TOOL_PREFIX = `mcp__${TOOL_SERVER}__`;

type QueryFn = (params: { prompt: string; options: Options }) => Query | AsyncIterable<SDKMessage>;

export interface ClaudeDeps {
  config: ModelConfig;
  /** The agent group's folder (read-only); its skills/ are offered to the agent. */
  groupDir: string;
  /** The MCP servers an admin approved for the group; the binary starts them. */
  mcpServers: readonly McpServerSpec[];
  forwarder: Forwarder;
  log: Log;
}

export function createClaudeProvider(deps: ClaudeDeps): Provider {
  // The SDK is loaded on first use, so runners of other providers never read it.
  let query: QueryFn | undefined;
  const load = async () => (query ??= (await import('@anthropic-ai/claude-agent-sdk/core')).query);
  return { query: (turn) => runTurn(turn, deps, load) };
}

async function* runTurn(
  turn: Turn,
  deps: ClaudeDeps,
  load: () => Promise<QueryFn>,
): AsyncGenerator<ProviderEvent> {
  const query = await load();
  const workDir = workDirIn(deps.config.homeDir);
  await mkdir(workDir, { recursive: true });
  const mark = deps.forwarder.mark();
  const stored = turn.readState(CLAUDE_SESSION_KEY);
  let outcome = yield* attempt(query, turn, deps, workDir, stored);
  if (outcome.kind === 'resume_failed' && stored !== null) {
    // A lost or broken transcript (a wiped home folder, a newer binary): start over rather than
    // failing every message of the session from now on. Nothing was sent to the model yet.
    deps.log.warn('stored claude conversation cannot be resumed; starting a new one', {
      claudeSession: stored,
      detail: outcome.detail,
    });
    yield { type: 'state', key: CLAUDE_SESSION_KEY, value: null };
    outcome = yield* attempt(query, turn, deps, workDir, null);
  }
  if ('sessionId' in outcome && outcome.sessionId !== null && outcome.sessionId !== stored) {
    yield { type: 'state', key: CLAUDE_SESSION_KEY, value: outcome.sessionId };
  }
  switch (outcome.kind) {
    case 'answered':
      if (outcome.text.trim() !== '') yield { type: 'text', text: outcome.text };
      return;
    case 'api_error': {
      const failures = deps.forwarder.failuresSince(mark);
      const failure = describeFailure({
        status: outcome.status,
        hint: hintOf(outcome.text),
        detail: outcome.text,
        observed: failures.at(-1) ?? null,
      });
      yield { type: 'error', message: failure.error, notice: failure.notice };
      return;
    }
    case 'resume_failed':
    case 'failed':
      yield {
        type: 'error',
        message: `claude: ${outcome.detail}`,
        notice: outcome.detail.startsWith('error_max_turns')
          ? stoppedNotice(deps.config.maxSteps)
          : 'Something went wrong on my side while working on this. Please try again.',
      };
  }
}

/** One run of the SDK for the turn; yields its events and returns how it ended. */
async function* attempt(
  query: QueryFn,
  turn: Turn,
  deps: ClaudeDeps,
  workDir: string,
  resume: string | null,
): AsyncGenerator<ProviderEvent, ClaudeOutcome> {
  const mapper = createClaudeMapper();
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  turn.signal.addEventListener('abort', onAbort, { once: true });
  const stderr: string[] = [];
  try {
    const options = claudeOptions({
      config: deps.config,
      baseUrl: deps.forwarder.url,
      workDir,
      instructions: turn.instructions(TOOL_PREFIX),
      resume,
      skills: groupSkills(deps.groupDir),
      mcpServers: deps.mcpServers,
    });
    const stream = query({
      prompt: turn.prompt,
      options: {
        ...options,
        mcpServers: {
          ...options.mcpServers,
          [TOOL_SERVER]: { type: 'sdk', name: TOOL_SERVER, instance: toolProxyServer(turn.tools) },
        },
        abortController: abort,
        // Kept for the error of a failed turn; the binary is chatty, so only the last lines.
        stderr: (text) => {
          stderr.push(text);
          if (stderr.length > 20) stderr.shift();
        },
      },
    });
    for await (const message of stream) {
      if (message.type === 'system' && message.subtype === 'init')
        logServerStatus(message.mcp_servers, deps.log);
      for (const event of mapper.map(message as SdkMessageLike)) yield event;
    }
    return mapper.outcome();
  } catch (err) {
    // The SDK throws after an error result too ("Claude Code returned an error result"): the
    // result already said what happened, so the mapper prefers it over the thrown text.
    const thrown = errorText(err);
    const outcome = mapper.outcome(thrown);
    if (outcome.kind === 'failed')
      deps.log.warn('claude ended abnormally', { error: thrown, stderr: stderr.join('') });
    return outcome;
  } finally {
    turn.signal.removeEventListener('abort', onAbort);
  }
}

export interface ClaudeOptionInputs {
  config: ModelConfig;
  baseUrl: string;
  workDir: string;
  instructions: string;
  resume: string | null;
  /** The group's skills (skills/<name>/SKILL.md in its folder), or null when it has none. */
  skills: { folder: string; names: string[] } | null;
  /** The group's approved MCP servers. */
  mcpServers: readonly McpServerSpec[];
}

/** An approved server that did not connect is left out by the binary; the log says so. */
function logServerStatus(servers: readonly { name: string; status: string }[], log: Log): void {
  for (const { name, status } of servers) {
    if (name !== TOOL_SERVER && status !== 'connected') {
      log.warn('MCP server is not connected; the agent goes on without its tools', { server: name, status });
    }
  }
}

/** The group folder's skills: each folder of skills/ that holds a SKILL.md. */
export function groupSkills(groupDir: string): ClaudeOptionInputs['skills'] {
  const dir = join(groupDir, 'skills');
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'SKILL.md')))
      .map((entry) => entry.name);
  } catch {
    return null;
  }
  return names.length === 0 ? null : { folder: groupDir, names };
}

/** Pure: the SDK options for one run (without the live tool server, abort and stderr hooks). */
export function claudeOptions(inputs: ClaudeOptionInputs): Options {
  const { config } = inputs;
  const builtIns = config.allowedTools.filter((tool) => !tool.startsWith('mcp__'));
  const { skills } = inputs;
  return {
    pathToClaudeCodeExecutable: config.claudePath,
    model: config.model,
    cwd: inputs.workDir,
    // Exactly the built-in tools the group allows are offered; every call of anything else is
    // denied without asking (there is nobody to ask). Never bypassPermissions.
    tools: skills ? [...builtIns, 'Skill'] : builtIns,
    // `mcp__<server>` permits every tool of that server (ours and the approved ones).
    allowedTools: [
      `mcp__${TOOL_SERVER}`,
      ...inputs.mcpServers.map((server) => `mcp__${server.name}`),
      ...config.allowedTools,
    ],
    mcpServers: stdioServers(inputs.mcpServers),
    permissionMode: 'dontAsk',
    // Nothing from the (agent-writable) home folder configures the binary: no settings files,
    // hooks or MCP servers of its own; our options are the whole configuration.
    settingSources: [],
    strictMcpConfig: true,
    settings: { disableAllHooks: true },
    // The group folder (read-only) is loaded as a plugin for its skills/; only those skills are
    // listed (not the binary's bundled ones), named "<folder>:<skill>" (the folder is /workspace/group).
    ...(skills
      ? {
          plugins: [{ type: 'local' as const, path: skills.folder }],
          skills: skills.names.map((name) => `${basename(skills.folder)}:${name}`),
        }
      : {}),
    systemPrompt: {
      type: 'preset',
      preset: 'claude_code',
      append: inputs.instructions,
      // Re-rendered every turn: an edited AGENT.md or MEMORY.md applies to the next message.
      snapshot: false,
    },
    maxTurns: config.maxSteps,
    ...(inputs.resume === null ? {} : { resume: inputs.resume }),
    env: claudeEnv(config, inputs.baseUrl),
  };
}

/**
 * Pure: the approved servers as the binary starts them. Loaded before the first prompt is built
 * (alwaysLoad; the binary waits up to 5 s for each), so their tools are there from the first turn.
 */
export function stdioServers(servers: readonly McpServerSpec[]): Record<string, McpServerConfig> {
  return Object.fromEntries(
    servers.map((server) => [
      server.name,
      { type: 'stdio', command: server.command, args: server.args, env: server.env, alwaysLoad: true },
    ]),
  );
}

/** Pure: the binary's whole environment (it does not inherit the runner's). */
export function claudeEnv(config: ModelConfig, baseUrl: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: config.homeDir,
    CLAUDE_CONFIG_DIR: join(config.homeDir, '.claude'),
    TMPDIR: '/tmp',
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: PLACEHOLDER_API_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Every call the binary makes, its helpers' too, uses the group's model: the gateway refuses others.
    ANTHROPIC_MODEL: config.model,
    ANTHROPIC_SMALL_FAST_MODEL: config.model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: config.model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: config.model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: config.model,
    ANTHROPIC_DEFAULT_FABLE_MODEL: config.model,
    CLAUDE_CODE_SUBAGENT_MODEL: config.model,
    // Bounded retries of one call (429, 5xx, timeouts; Retry-After honoured, x-should-retry too)
    // and a bounded wait for each answer: a failing provider ends the turn, it never hangs it.
    CLAUDE_CODE_MAX_RETRIES: String(config.retries),
    API_TIMEOUT_MS: String(config.timeoutMs),
    CLAUDE_CODE_STARTUP_FAILURE_RESULTS: '1',
  };
}

function hintOf(text: string): 'timeout' | 'malformed' | 'connection' | null {
  if (/timed out|timeout/i.test(text)) return 'timeout';
  if (/malformed|empty or malformed|invalid json|unexpected (?:end|token)/i.test(text)) return 'malformed';
  if (/connection|ECONNREFUSED|ECONNRESET|socket hang up/i.test(text)) return 'connection';
  return null;
}

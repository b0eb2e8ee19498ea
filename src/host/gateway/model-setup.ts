// Pure: which model a new install's `main` agent group starts with, and the start-up line per group
// that tells the operator what each agent group will use and whether its key is there.
import type { AgentGroup, ModelConfig } from '../../db/agent-groups.ts';
import type { Provider } from '../../db/enums.ts';
import { upstreamOf } from './upstream.ts';

export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-4-5';
export const DEFAULT_OPENAI_MODEL = 'gpt-4.1-mini';

type Lookup = (name: string) => string | undefined;

export interface ModelSetup {
  provider: Provider;
  model: string | null;
  modelConfig: ModelConfig;
}

/**
 * Claude when an Anthropic key is available, else an OpenAI-compatible server when an OpenAI key (or
 * a local server: OPENAI_BASE_URL with OPENAI_MODEL) is, else the scripted provider.
 */
export function defaultModelSetup(lookup: Lookup): ModelSetup {
  if (lookup('ANTHROPIC_API_KEY'))
    return { provider: 'claude', model: DEFAULT_CLAUDE_MODEL, modelConfig: {} };
  const baseUrl = lookup('OPENAI_BASE_URL');
  const model = lookup('OPENAI_MODEL');
  if (lookup('OPENAI_API_KEY') || (baseUrl && model)) {
    return {
      provider: 'openai',
      model: model ?? DEFAULT_OPENAI_MODEL,
      modelConfig: baseUrl ? { baseUrl } : {},
    };
  }
  return { provider: 'scripted', model: null, modelConfig: {} };
}

export interface GroupModelStatus {
  level: 'info' | 'warn';
  message: string;
}

/** One line for the start-up log; a warning when calls of this group cannot work as configured. */
export function describeGroupModel(group: AgentGroup, lookup: Lookup): GroupModelStatus {
  const name = `agent group ${group.folder}`;
  if (group.provider === 'scripted') {
    return { level: 'info', message: `${name}: provider scripted (no model configured; see docs/models.md)` };
  }
  const upstream = upstreamOf(group.provider, group.modelConfig);
  const model = group.model ?? 'no model set';
  const where = `${group.provider} ${model} at ${upstream.baseUrl}`;
  if (!group.model && !group.modelConfig.allowedModels) {
    return {
      level: 'warn',
      message: `${name}: ${where}: no model is configured, so every call is refused; set one: warren groups model ${group.folder} --model …`,
    };
  }
  if (lookup(upstream.keyName))
    return { level: 'info', message: `${name}: ${where}, key ${upstream.keyName} present` };
  if (!upstream.official) return { level: 'info', message: `${name}: ${where}, no key (none configured)` };
  return {
    level: 'warn',
    message:
      `${name}: ${where}: key ${upstream.keyName} is missing, so its model calls get an error; ` +
      'set it in the environment or in secrets.json (docs/models.md)',
  };
}

function keyStatus(group: AgentGroup, keys: Lookup): string {
  if (group.provider === 'scripted') return '-';
  const upstream = upstreamOf(group.provider, group.modelConfig);
  if (keys(upstream.keyName)) return `${upstream.keyName} present`;
  return upstream.official ? `${upstream.keyName} MISSING` : 'none';
}

/** An agent group's model as `warren groups list --json` and GET /api/groups show it: the key only as present or missing. */
export function groupModelView(group: AgentGroup, keys: Lookup) {
  return {
    folder: group.folder,
    name: group.name,
    provider: group.provider,
    model: group.model,
    baseUrl: group.provider === 'scripted' ? null : upstreamOf(group.provider, group.modelConfig).baseUrl,
    key: keyStatus(group, keys),
    modelConfig: group.modelConfig,
  };
}

// What a session file's content column may hold (DESIGN §3), shared by the host and the agent runner.
import { z } from 'zod';
import type { MessageInKind } from './session-contract.ts';
import { correlationId } from './correlation.ts';

// ---- content shapes (DESIGN §3) ----

const option = z.object({ label: z.string().min(1), value: z.string().min(1) });
const card = z.object({
  title: z.string().min(1),
  body: z.string().default(''),
  options: z.array(option).default([]),
});
const isoTime = z.iso.datetime({ offset: true });

export const chatContent = z.object({
  text: z.string(),
  sender: z.object({ id: z.string().min(1), name: z.string().optional(), userId: z.string().optional() }),
  attachments: z
    .array(
      z.object({
        name: z.string(),
        type: z.string(),
        size: z.number().int().nonnegative(),
        path: z.string(),
      }),
    )
    .default([]),
  replyTo: z.object({ seq: z.number().int().optional(), text: z.string(), sender: z.string() }).optional(),
  platformMessageId: z.string().optional(),
  mentioned: z.boolean().default(false),
});
export const CATCH_UP_POLICIES = ['skip', 'latest', 'all'] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];
export const taskContent = z.object({
  prompt: z.string().min(1),
  taskId: z.string().min(1),
  scheduledFor: isoTime,
  // Optional, added with scheduling (docs/scheduling.md); rows without them use the defaults.
  /** What a run missed while the host was down becomes: none (skip), one (latest), each (all). */
  catchUp: z.enum(CATCH_UP_POLICIES).optional(),
  maxCatchUp: z.number().int().min(1).optional(),
  /** This run stands in for this many earlier slots that did not run. */
  missed: z.number().int().min(1).optional(),
  /** An extra run asked for by an operator (`warren tasks run-now`), not a slot of the schedule. */
  manual: z.literal(true).optional(),
  /** Failures before this time do not count towards pausing the series. */
  resumedAt: isoTime.optional(),
});
export const systemContent = z.looseObject({ event: z.string().min(1) });
export const agentContent = z.object({
  text: z.string(),
  fromAgentGroup: z.string(),
  fromSession: z.string(),
  /**
   * Agent-to-agent messages in a row that led here, this one included (1: an agent wrote it answering
   * a person, a task or the system). The host counts it to stop loops; optional for older rows.
   */
  hops: z.number().int().min(1).optional(),
});

export const messageInContent = {
  chat: chatContent,
  task: taskContent,
  system: systemContent,
  agent: agentContent,
} as const satisfies Record<MessageInKind, z.ZodType>;

export type ChatContent = z.infer<typeof chatContent>;
export type TaskContent = z.infer<typeof taskContent>;
export type SystemContent = z.infer<typeof systemContent>;
export type AgentContent = z.infer<typeof agentContent>;

/**
 * Every operation may name the inbound message whose turn wrote it (`corr`, src/shared/correlation.ts),
 * so the host's delivery lines can be followed back to it. Only for logs: a missing or malformed one is
 * dropped, never a reason to fail the row.
 */
const traced = { corr: correlationId };

export const outboundOperation = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('send'),
    text: z.string(),
    files: z.array(z.string()).default([]),
    card: card.optional(),
    ...traced,
  }),
  z.object({ op: z.literal('edit'), targetSeq: z.number().int().positive(), text: z.string(), ...traced }),
  z.object({
    op: z.literal('react'),
    targetSeq: z.number().int().positive(),
    emoji: z.string().min(1),
    ...traced,
  }),
  z.object({
    op: z.literal('ask'),
    questionId: z.string().min(1),
    question: z.string().min(1),
    options: z.array(option).min(1),
    expiresAt: isoTime,
    ...traced,
  }),
  z.object({
    op: z.literal('action'),
    action: z.string().min(1),
    payload: z.record(z.string(), z.unknown()),
    ...traced,
  }),
]);
export type OutboundOperation = z.infer<typeof outboundOperation>;

// ---- task actions: `{ op: 'action', action, payload }` rows the agent's task tools write ----

const taskId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a task id: letters, digits, _ and - only');
const taskFields = {
  prompt: z.string().trim().min(1).max(8000),
  /** One run at this time. */
  at: isoTime,
  /** Recurring: five cron fields or a macro (@daily …), in `timezone`. */
  cron: z.string().trim().min(1).max(200),
  timezone: z.string().trim().min(1).max(64),
  catchUp: z.enum(CATCH_UP_POLICIES),
  maxCatchUp: z.number().int().min(1).max(100),
};
/** What schedule_task sets and update_task may change. */
const taskChanges = z.object(taskFields).partial();
const notBoth = (p: { at?: string; cron?: string }) => p.at === undefined || p.cron === undefined;
const BOTH = 'give either at (one run) or cron (recurring), not both';
export const taskActionPayloads = {
  schedule_task: taskChanges
    .extend({ taskId, prompt: taskFields.prompt })
    .refine(notBoth, BOTH)
    .refine((p) => p.at !== undefined || p.cron !== undefined, 'give at (one run) or cron (recurring)'),
  update_task: taskChanges
    .extend({ taskId })
    .refine(notBoth, BOTH)
    .refine((p) => Object.keys(p).length > 1, 'nothing to change'),
  pause_task: z.object({ taskId }),
  resume_task: z.object({ taskId }),
  cancel_task: z.object({ taskId }),
} as const;
export type TaskAction = keyof typeof taskActionPayloads;
export const TASK_ACTIONS = Object.keys(taskActionPayloads) as TaskAction[];
export type TaskActionPayload<A extends TaskAction> = z.infer<(typeof taskActionPayloads)[A]>;
export const isTaskAction = (action: string): action is TaskAction =>
  (TASK_ACTIONS as string[]).includes(action);

// ---- approval actions: `{ op: 'action', action, payload }` rows the agent's approval tools write ----
// The host turns each into an approval request (src/host/approvals); an admin decides, and the
// agent reads the outcome as a system message (event 'approval_decided').

/** Debian package names (policy §5.6.1): lowercase letters, digits, + - . ; at least two characters. */
const aptPackage = z
  .string()
  .regex(/^[a-z0-9][a-z0-9+.-]{1,99}$/, 'a Debian package name: lowercase letters, digits, + - .');
/** An npm package, optionally with a version or range: `left-pad`, `@scope/name@^1.2.0`. Never a path or URL. */
const npmPackage = z
  .string()
  .regex(
    /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]{0,213}(@[A-Za-z0-9.^~<>=*|+ -]{1,50})?$/,
    'an npm package name, optionally @version (no paths, URLs or git specs)',
  );
/** The runner's own tools are the MCP server `warren` (claude sees mcp__warren__…): no other server may take it. */
export const RESERVED_MCP_SERVER_NAME = 'warren';
const mcpServerName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)')
  .refine(
    (name) => name.toLowerCase() !== RESERVED_MCP_SERVER_NAME,
    `"${RESERVED_MCP_SERVER_NAME}" is the name of the runner's own tools; choose another`,
  );
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

export const approvalActionPayloads = {
  /** A free-form action the agent wants a person to approve; the reviewer may edit `payload`. */
  request_approval: z.strictObject({
    action: z.string().trim().min(1).max(100),
    summary: z.string().trim().min(1).max(2000),
    payload: z.record(z.string(), z.json()),
  }),
  install_packages: z
    .strictObject({
      apt: z.array(aptPackage).max(20).default([]),
      npm: z.array(npmPackage).max(20).default([]),
      reason: z.string().trim().min(1).max(2000),
    })
    .refine((p) => p.apt.length + p.npm.length > 0, 'name at least one apt or npm package'),
  add_mcp_server: z.strictObject({
    name: mcpServerName,
    command: z.string().min(1).max(1000),
    args: z.array(z.string().max(4000)).max(100).default([]),
    env: z.record(envName, z.string().max(8000)).default({}),
  }),
  create_agent: z.strictObject({
    name: z.string().trim().min(1).max(100),
    instructions: z.string().trim().min(1).max(20_000),
  }),
} as const;
export type ApprovalAction = keyof typeof approvalActionPayloads;
export const APPROVAL_ACTIONS = Object.keys(approvalActionPayloads) as ApprovalAction[];
export type ApprovalActionPayload<A extends ApprovalAction> = z.infer<(typeof approvalActionPayloads)[A]>;
export const isApprovalAction = (action: string): action is ApprovalAction =>
  (APPROVAL_ACTIONS as string[]).includes(action);
/**
 * An MCP server an admin approved (add_mcp_server): what container_config.mcpServers records under
 * its name, and what the runner gets in WARREN_MCP_SERVERS.
 */
export const mcpServerSpecSchema = approvalActionPayloads.add_mcp_server;
export type McpServerSpec = ApprovalActionPayload<'add_mcp_server'>;

/** ask_user_question: how long a question may stay open, and its options. */
export const QUESTION_LIMITS = { minTimeoutS: 10, maxTimeoutS: 7 * 86_400, maxOptions: 10 } as const;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses a stored content column; an invalid row gets a reason, never an exception. */
export function parseContent<T>(schema: z.ZodType<T>, raw: string): ParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `content is not JSON: ${(err as Error).message}` };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: `content is invalid: ${z.prettifyError(result.error)}` };
}

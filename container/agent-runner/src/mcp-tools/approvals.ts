// The agent's approval tools (DESIGN §6): request_approval, install_packages, add_mcp_server,
// create_agent, and ask_user_question. Each checks its input with the host's own schemas
// (src/shared/session-content.ts) and writes one row: an `{ op: 'action' }` row the host turns into an approval
// request (an admin decides; the outcome comes back as a system message `approval_decided`), or an
// `{ op: 'ask' }` row the host shows as a question card (the answer comes back as
// `question_answered`, or `question_expired`).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  approvalActionPayloads,
  QUESTION_LIMITS,
  type ApprovalAction,
  type OutboundOperation,
} from '../../../../src/shared/session-content.ts';
import { writeMessagesOut } from '../db/session.ts';
import type { ToolDeps, TurnScope } from './index.ts';

const OUTCOME =
  'An admin decides; you get the outcome later as a system message (approval_decided) with this seq as requestSeq. ' +
  'Nothing happens before that.';

export function registerApprovalTools(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  registerActionRequests(server, deps, scope);
  registerAskUserQuestion(server, deps, scope);
}

/** The four tools whose request an admin decides: each writes one `{ op: 'action' }` row. */
function registerActionRequests(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  const action = (name: ApprovalAction, args: Record<string, unknown>) =>
    requestAction(deps, scope, name, args);

  server.registerTool(
    'request_approval',
    {
      description:
        'Ask a person to approve an action before you take it (e.g. sending an email, spending money). ' +
        `The reviewer sees every field of payload and may edit it: act on the payload in the outcome. ${OUTCOME}`,
      inputSchema: {
        action: z.string().min(1).max(100).describe('a short name for the action, e.g. "send_invoice"'),
        summary: z.string().min(1).max(2000).describe('what you want to do and why, for the reviewer'),
        payload: z.record(z.string(), z.unknown()).describe('the exact details the action will use'),
      },
    },
    (args) => action('request_approval', args),
  );

  server.registerTool(
    'install_packages',
    {
      description:
        'Ask for Debian (apt) and/or npm packages in your container image. Once approved the image is ' +
        `rebuilt and your next containers have them (npm packages are require()-able; no install scripts run). ${OUTCOME}`,
      inputSchema: {
        apt: z.array(z.string()).max(20).optional().describe('Debian package names, e.g. ["jq"]'),
        npm: z.array(z.string()).max(20).optional().describe('npm packages, optionally name@version'),
        reason: z.string().min(1).max(2000).describe('why you need them, for the reviewer'),
      },
    },
    (args) => action('install_packages', args),
  );

  server.registerTool(
    'add_mcp_server',
    {
      description:
        'Ask for another MCP server (a command run inside your container, which has no network) with its ' +
        'arguments and environment; give absolute paths (your group folder is /workspace/group). ' +
        `Once approved, its tools are yours from your next container on, named after the server. ${OUTCOME}`,
      inputSchema: {
        name: z.string().min(1).max(64),
        command: z.string().min(1).max(1000),
        args: z.array(z.string()).max(100).optional(),
        env: z.record(z.string(), z.string()).optional(),
      },
    },
    (args) => action('add_mcp_server', args),
  );

  server.registerTool(
    'create_agent',
    {
      description:
        'Ask for a new agent (a helper with its own instructions) that you can message once approved ' +
        `(it appears in list_destinations under its name). ${OUTCOME}`,
      inputSchema: {
        name: z.string().min(1).max(100),
        instructions: z.string().min(1).max(20_000).describe('its AGENT.md: who it is and what it does'),
      },
    },
    (args) => action('create_agent', args),
  );
}

/** Checks the request with the host's schema and writes it for the host, which asks an admin. */
function requestAction(
  deps: ToolDeps,
  scope: TurnScope,
  name: ApprovalAction,
  args: Record<string, unknown>,
): CallToolResult {
  const checked = approvalActionPayloads[name].safeParse(args);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    return failure(`${issue?.path.join('.') || name}: ${issue?.message}; nothing was requested.`);
  }
  const operation: OutboundOperation = { op: 'action', action: name, payload: checked.data };
  const [written] = writeMessagesOut(deps.session, [
    {
      id: scope.ids({ target: 'host', operation }),
      corr: scope.corr,
      kind: 'system',
      operation,
      timestamp: deps.clock().toISOString(),
    },
  ]);
  return result({ seq: written!.seq, status: 'requested' });
}

function registerAskUserQuestion(server: McpServer, deps: ToolDeps, scope: TurnScope): void {
  server.registerTool(
    'ask_user_question',
    {
      description:
        'Ask the person you are talking to a multiple-choice question. Returns at once; their answer comes ' +
        'later as a system message (question_answered, with the option value), or question_expired when ' +
        'nobody answers before the timeout.',
      inputSchema: {
        question: z.string().min(1).max(4000),
        options: z
          .array(
            z.union([
              z.string().min(1).max(200),
              z.object({ label: z.string().min(1).max(200), value: z.string().min(1).max(200) }),
            ]),
          )
          .min(1)
          .max(QUESTION_LIMITS.maxOptions)
          .describe('the answers to offer: strings, or {label, value}'),
        timeout: z
          .number()
          .int()
          .min(QUESTION_LIMITS.minTimeoutS)
          .max(QUESTION_LIMITS.maxTimeoutS)
          .optional()
          .describe('seconds to wait for an answer (default 3600)'),
      },
    },
    (args) => askQuestion(deps, scope, args),
  );
}

interface Question {
  question: string;
  options: (string | { label: string; value: string })[];
  /** Seconds to wait for an answer. */
  timeout?: number;
}

/** Writes the question card to the current conversation; the answer comes back as a system message. */
function askQuestion(
  deps: ToolDeps,
  scope: TurnScope,
  { question, options, timeout }: Question,
): CallToolResult {
  const expiresAt = new Date(deps.clock().getTime() + (timeout ?? 3600) * 1000).toISOString();
  const normalized = options.map((o) => (typeof o === 'string' ? { label: o, value: o } : o));
  const target = scope.conversation;
  const id = scope.ids({ tool: 'ask_user_question', question, options: normalized });
  const operation: OutboundOperation = {
    op: 'ask',
    questionId: `q_${id.slice(4)}`,
    question,
    options: normalized,
    expiresAt,
  };
  const [written] = writeMessagesOut(deps.session, [
    {
      id,
      kind: target.kind,
      operation,
      timestamp: deps.clock().toISOString(),
      inReplyTo: target.inReplyTo,
      corr: scope.corr,
      channelType: target.address.channelType,
      platformId: target.address.platformId,
      threadId: target.address.threadId,
    },
  ]);
  return result({ questionId: operation.questionId, seq: written!.seq, expiresAt });
}

function result(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function failure(error: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: error }] };
}

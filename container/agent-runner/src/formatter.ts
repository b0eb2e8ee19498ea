// A turn's messages → the prompt text the model reads. Pure: everything it needs comes in.
// Tags carry the metadata; message text is escaped so a user cannot forge a tag of their own.
import { join } from 'node:path';
import type { TurnMessage } from './messages.ts';

export interface FormatOptions {
  /** IANA zone the agent group lives in; every time is shown in it. */
  timezone: string;
  now: Date;
  /** Absolute path of the session's in/ folder as the agent sees it (attachments live under it). */
  inDir: string;
}

export function formatTurn(messages: readonly TurnMessage[], opts: FormatOptions): string {
  const time = localTime(opts.timezone);
  const lines = [
    `<context timezone="${attr(opts.timezone)}" now="${attr(time(opts.now.toISOString()))}" />`,
    '<messages>',
    ...messages.map((m) => formatMessage(m, time, opts.inDir)),
    '</messages>',
  ];
  return lines.join('\n');
}

type TimeFormat = (iso: string) => string;

function formatMessage(message: TurnMessage, time: TimeFormat, inDir: string): string {
  const at = time(message.timestamp);
  switch (message.kind) {
    case 'chat': {
      const { sender, replyTo, attachments, text } = message.content;
      const lines = [
        ...(replyTo ? [element('reply-to', { id: replyTo.seq, from: replyTo.sender }, replyTo.text)] : []),
        text.length > 0 ? body(text) : undefined,
        ...attachments.map(
          (a) =>
            `<attachment ${attrs({ name: a.name, type: a.type, size: a.size, path: join(inDir, a.path) })} />`,
        ),
      ].filter((line) => line !== undefined);
      const head = { id: message.seq, from: sender.name ?? sender.id, 'sender-id': sender.id, time: at };
      return `<message ${attrs(head)}>\n${lines.join('\n')}\n</message>`;
    }
    case 'task': {
      // A scheduled run: the agent does what the prompt says now. missed-runs: earlier slots that did
      // not run (the host was down); manual: an extra run an operator asked for.
      const { taskId, scheduledFor, prompt, missed, manual } = message.content;
      const head = {
        id: message.seq,
        'task-id': taskId,
        'scheduled-for': time(scheduledFor),
        'missed-runs': missed,
        manual: manual ? 'true' : undefined,
      };
      return element('task', head, prompt);
    }
    case 'system': {
      const { event, ...details } = message.content;
      const lines = Object.entries(details).map(([key, value]) => `${key}: ${describeValue(value)}`);
      return element('system', { id: message.seq, event, time: at }, lines.join('\n'));
    }
    case 'agent': {
      const { fromAgentGroup, fromSession, text } = message.content;
      const head = {
        id: message.seq,
        'from-agent-group': fromAgentGroup,
        'from-session': fromSession,
        time: at,
      };
      return element('agent-message', head, text);
    }
  }
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function element(tag: string, attributes: Record<string, string | number | undefined>, text: string): string {
  return `<${tag} ${attrs(attributes)}>${body(text)}</${tag}>`;
}

function attrs(attributes: Record<string, string | number | undefined>): string {
  return Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}="${attr(String(value))}"`)
    .join(' ');
}

const body = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attr = (text: string) => body(text).replace(/"/g, '&quot;');

/** "Mon 2026-11-23 11:00 GMT+01:00" in the given zone; an unparsable timestamp is shown as stored. */
function localTime(timezone: string): TimeFormat {
  const format = dateFormatOf(timezone);
  return (iso) => {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    const part = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
    // Some ICU builds write a zero offset as plain "GMT"; keep one spelling.
    const offset = part.timeZoneName === 'GMT' ? 'GMT+00:00' : part.timeZoneName;
    return `${part.weekday} ${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${offset}`;
  };
}

// Building a formatter costs a runner about 0.4 ms of CPU per turn; a runner serves one agent group, so
// it meets one or two zones in its life.
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormatOf(timezone: string): Intl.DateTimeFormat {
  let format = dateFormats.get(timezone);
  if (!format) {
    if (dateFormats.size >= 8) dateFormats.clear();
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    dateFormats.set(timezone, format);
  }
  return format;
}

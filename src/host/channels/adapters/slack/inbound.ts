// What arrives from Slack (a Socket Mode envelope or an HTTP request), normalized and handed to the
// machinery. An event is acknowledged only once the machinery has stored it: an event that failed stays
// unacknowledged and Slack delivers it again (dedup is on the message's ts, so a retry is never dropped
// for being a retry). A button press is acknowledged at once, as Slack wants within 3 seconds.
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../logger.ts';
import type { PlatformEvents } from '../../platform.ts';
import { describe } from './errors.ts';
import { downloadFiles, type FileAccess } from './files.ts';
import type { SlackInbound } from './http.ts';
import {
  normalizeBlockActions,
  normalizeMessageEvent,
  type Normalized,
  type SlackIdentity,
} from './normalize.ts';
import type { SocketEnvelope } from './socket.ts';

export interface InboundDeps {
  /** The machinery's callbacks and who the bot is, while started; undefined while stopped. */
  receiving: () => { events: PlatformEvents; who: SlackIdentity } | undefined;
  web: () => WebClient;
  files: FileAccess;
  resolveNames: boolean;
  log: Logger;
}

const MAX_CACHED_NAMES = 1000;
const MESSAGE_EVENTS = new Set(['message', 'app_mention']);

export function createInbound(
  deps: InboundDeps,
): SlackInbound & { onEnvelope(envelope: SocketEnvelope): void } {
  const names = new Map<string, string | null>();
  return { event, interaction, onEnvelope };

  function onEnvelope({ type, body, retryNum, ack }: SocketEnvelope): void {
    const acknowledge = () =>
      ack().catch((error: unknown) => deps.log.debug(`slack: ack failed (${describe(error)})`));
    if (type === 'events_api') {
      event(body, retryNum).then(acknowledge, (error: unknown) =>
        deps.log.warn(
          { err: describe(error) },
          'slack: event not stored; left unacknowledged for Slack to retry',
        ),
      );
    } else if (type === 'interactive') {
      void acknowledge().then(() => interaction(body));
    } else {
      void acknowledge();
      deps.log.debug({ type: type.slice(0, 32) }, 'slack: envelope ignored');
    }
  }

  async function event(envelope: unknown, retryNum: number | undefined): Promise<void> {
    const current = deps.receiving();
    if (current === undefined) throw new Error('the Slack adapter is stopped');
    const { type, event_id: eventId, event: inner } = (envelope ?? {}) as Record<string, unknown>;
    const innerType = (inner as { type?: unknown } | undefined)?.type;
    if (type !== 'event_callback' || typeof innerType !== 'string' || !MESSAGE_EVENTS.has(innerType)) {
      deps.log.debug('slack: event ignored (not a message)');
      return;
    }
    const id = typeof eventId === 'string' && eventId.length <= 64 ? eventId : undefined;
    if (retryNum !== undefined) deps.log.debug({ eventId: id, retryNum }, 'slack: redelivered event');
    await deliver(normalizeMessageEvent(inner, current.who), current.events, id);
  }

  function interaction(payload: unknown): void {
    const current = deps.receiving();
    if (current === undefined) return;
    if ((payload as { type?: unknown } | null)?.type !== 'block_actions') {
      deps.log.debug('slack: interaction ignored (not a button press)');
      return;
    }
    deliver(normalizeBlockActions(payload, current.who), current.events, undefined).catch((error: unknown) =>
      deps.log.warn({ err: describe(error) }, 'slack: button press not stored; the press is lost'),
    );
  }

  async function deliver(normalized: Normalized, events: PlatformEvents, eventId: string | undefined) {
    if (normalized.kind === 'skip') {
      deps.log.debug({ reason: normalized.reason }, 'slack: event skipped');
      return;
    }
    const { message, files } = normalized;
    const { attachments, notes } = await downloadFiles(files, deps.files);
    const name = message.sender.name ?? (message.sender.isBot ? undefined : await nameOf(message.sender.id));
    await events.message(
      {
        ...message,
        sender: { ...message.sender, ...(name !== undefined && { name }) },
        text: [message.text, ...notes].filter((part) => part !== '').join('\n'),
        attachments,
      },
      eventId,
    );
  }

  /** The sender's display name (users.info, needs users:read), cached; none when Slack will not say. */
  async function nameOf(userId: string): Promise<string | undefined> {
    if (!deps.resolveNames) return undefined;
    const cached = names.get(userId);
    if (cached !== undefined) return cached ?? undefined;
    let name: string | null = null;
    try {
      const { user } = await deps.web().users.info({ user: userId });
      const found = user?.profile?.display_name || user?.real_name || user?.name;
      name = typeof found === 'string' && found !== '' ? found.slice(0, 256) : null;
    } catch (error) {
      deps.log.debug(`slack: no name for ${userId} (${describe(error)})`);
    }
    if (names.size >= MAX_CACHED_NAMES) names.delete(names.keys().next().value!);
    names.set(userId, name);
    return name ?? undefined;
  }
}

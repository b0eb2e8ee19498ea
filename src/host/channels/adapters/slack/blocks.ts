// One outbound piece as a Slack message: Block Kit sections of at most 3,000 characters (Slack's limit
// per section), a header for a card's title, buttons whose value is the piece's token, and the whole text
// as the `text` fallback for notifications and screen readers.
import type { KnownBlock } from '@slack/web-api';
import { ChannelSendError } from '../../channel.ts';
import type { OutboundPiece } from '../../platform.ts';
import { splitText } from '../../split-text.ts';

export const SECTION_LIMIT = 3000;
/** Slack truncates `text` beyond this. */
export const MESSAGE_LIMIT = 40_000;
const HEADER_LIMIT = 150;
const BUTTON_LABEL_LIMIT = 75;
const BUTTONS_PER_ROW = 25;
/** Slack refuses a message with more than 50 blocks. */
const MAX_BLOCKS = 50;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/**
 * The piece's text in sections, then a card's title and body, then its buttons. A piece needing more
 * blocks than Slack takes (text made mostly of `&`, `<`, `>` grows fivefold when escaped) is refused
 * as too large rather than cut: nothing is dropped without a word.
 */
export function renderPiece(piece: Pick<OutboundPiece, 'text' | 'card' | 'buttons'>): SlackMessage {
  const blocks: KnownBlock[] = sections(piece.text);
  const title = piece.card?.title.trim();
  if (title) blocks.push({ type: 'header', text: { type: 'plain_text', text: clip(title, HEADER_LIMIT) } });
  if (piece.card) blocks.push(...sections(piece.card.body));
  blocks.push(...buttonRows(piece.buttons ?? []));
  if (blocks.length > MAX_BLOCKS) {
    throw new ChannelSendError(
      'too_large',
      `the message needs ${blocks.length} Slack blocks once escaped; Slack takes ${MAX_BLOCKS}`,
    );
  }
  const fallback = piece.text.trim() === '' ? (title ?? '') : piece.text;
  return { text: clipEscaped(escapeMrkdwn(fallback), MESSAGE_LIMIT), blocks };
}

function sections(text: string): KnownBlock[] {
  return escapedChunks(text, SECTION_LIMIT).map((chunk) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: chunk, verbatim: true },
  }));
}

/**
 * Slack reads `&`, `<` and `>` as markup (`<!channel>` pings everyone, `<url|label>` disguises a link):
 * text from an agent is escaped so it shows as written.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The text escaped, in chunks of at most `limit` characters each after escaping, cut as replies are
 * (split-text.ts: between words, never inside a code span or link where avoidable, a code block closed
 * and reopened so each section renders).
 */
export function escapedChunks(text: string, limit: number, rawLimit = limit): string[] {
  const chunks: string[] = [];
  for (const raw of splitText(text, rawLimit)) {
    const escaped = escapeMrkdwn(raw);
    if (escaped.length <= limit) {
      if (escaped.trim() !== '') chunks.push(escaped);
      continue;
    }
    // Escaping grew the chunk past the limit: cut the raw chunk smaller, in proportion.
    const smaller = Math.max(16, Math.floor((rawLimit * limit) / escaped.length) - 1);
    chunks.push(...escapedChunks(raw, limit, smaller));
  }
  return chunks;
}

function buttonRows(buttons: { label: string; token: string }[]): KnownBlock[] {
  const rows: KnownBlock[] = [];
  for (let start = 0; start < buttons.length; start += BUTTONS_PER_ROW) {
    rows.push({
      type: 'actions',
      block_id: `warren_buttons_${start / BUTTONS_PER_ROW}`,
      elements: buttons.slice(start, start + BUTTONS_PER_ROW).map((button, i) => ({
        type: 'button',
        action_id: `warren_${start + i}`,
        text: { type: 'plain_text', text: clip(button.label.trim() || button.token, BUTTON_LABEL_LIMIT) },
        value: button.token,
      })),
    });
  }
  return rows;
}

function clip(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const end = isHighSurrogate(text.charCodeAt(limit - 2)) ? limit - 2 : limit - 1;
  return `${text.slice(0, end)}…`;
}

/** Clipped without leaving half an entity (`&am`) at the end. */
function clipEscaped(text: string, limit: number): string {
  return text.length <= limit ? text : clip(text, limit).replace(/&[a-z]{0,3}…$/, '…');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

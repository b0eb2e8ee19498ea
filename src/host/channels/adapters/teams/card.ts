// One outbound piece as a Teams message activity: plain text (Teams renders its markdown subset), or,
// for a card or buttons, an Adaptive Card with the text, the card's title and body as TextBlocks and one
// Action.Submit per button whose data is the button's token (it comes back in the activity's `value`).
import type { OutboundPiece } from '../../platform.ts';
import { AdaptiveCard, SubmitAction, TextBlock } from './sdk.ts';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
const TITLE_LIMIT = 400;
const BUTTON_LABEL_LIMIT = 100;

export interface MessageActivity {
  type: 'message';
  text?: string;
  textFormat?: 'markdown';
  summary?: string;
  attachments?: { contentType: string; content: unknown }[];
}

export function renderPiece(piece: Pick<OutboundPiece, 'text' | 'card' | 'buttons'>): MessageActivity {
  const buttons = piece.buttons ?? [];
  if (!piece.card && buttons.length === 0)
    return { type: 'message', text: piece.text, textFormat: 'markdown' };

  const blocks: TextBlock[] = [];
  if (piece.text.trim() !== '') blocks.push(new TextBlock(piece.text, { wrap: true }));
  const title = piece.card?.title.trim();
  if (title)
    blocks.push(new TextBlock(clip(title, TITLE_LIMIT), { weight: 'Bolder', size: 'Medium', wrap: true }));
  if (piece.card && piece.card.body.trim() !== '')
    blocks.push(new TextBlock(piece.card.body, { wrap: true }));
  const card = new AdaptiveCard(...blocks).withActions(
    ...buttons.map(
      (button) =>
        new SubmitAction({
          title: clip(button.label.trim() || button.token, BUTTON_LABEL_LIMIT),
          data: { token: button.token },
        }),
    ),
  );
  return {
    type: 'message',
    // Shown in notifications (the card itself holds the text).
    ...((title || piece.text.trim()) && { summary: clip(title || piece.text.trim(), TITLE_LIMIT) }),
    attachments: [{ contentType: ADAPTIVE_CARD, content: card }],
  };
}

function clip(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 2);
  const end = code >= 0xd800 && code <= 0xdbff ? limit - 2 : limit - 1;
  return `${text.slice(0, end)}…`;
}

// Signed approval links (docs/approvals.md): a card sent where there are no buttons (email) carries,
// under each option, a link to a confirmation page on the host. The link names the approval, the
// option, the payload hash the card showed and the approver it was sent to, and expires with the
// approval; an HMAC over all of it with the install's link key makes it unforgeable. It decides
// nothing by itself: the page asks, and only its POST decides (mail scanners follow links). It is
// single-use because an approval is decided once: the second use is refused as already decided.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface ApprovalLink {
  approvalId: string;
  decision: 'approve' | 'reject';
  payloadHash: string;
  choice?: string;
  /** The approver the card was sent to: the link decides as them. */
  userId: string;
  /** The approval's expiry (ISO 8601): the link is refused after it. */
  expiresAt: string;
}

export type LinkCheck = { ok: true; link: ApprovalLink } | { ok: false; reason: 'forged' | 'expired' };

/** Longer than any link this module makes; anything longer is refused unread. */
const MAX_TOKEN_LENGTH = 2048;
const CONTEXT = 'warren approval link v1\n';

const fields = z.tuple([
  z.string().min(1).max(100),
  z.enum(['approve', 'reject']),
  z.string().regex(/^[0-9a-f]{64}$/),
  z.string().max(200),
  z.string().min(1).max(100),
  z.iso.datetime({ offset: true }),
]);

export function signApprovalLink(key: string, link: ApprovalLink): string {
  const body = Buffer.from(
    JSON.stringify([
      link.approvalId,
      link.decision,
      link.payloadHash,
      link.choice ?? '',
      link.userId,
      link.expiresAt,
    ]),
  ).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** What the link says, when the key signed it and the approval has not expired. */
export function checkApprovalLink(key: string, token: string, now: Date): LinkCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'forged' };
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return { ok: false, reason: 'forged' };
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'forged' };
  const parsed = fields.safeParse(parseJson(Buffer.from(body, 'base64url').toString('utf8')));
  // Signed with our key yet unreadable: only a bug makes that, never a visitor. Refuse it all the same.
  if (!parsed.success) return { ok: false, reason: 'forged' };
  const [approvalId, decision, payloadHash, choice, userId, expiresAt] = parsed.data;
  if (Date.parse(expiresAt) <= now.getTime()) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    link: { approvalId, decision, payloadHash, userId, expiresAt, ...(choice ? { choice } : {}) },
  };
}

const mac = (key: string, body: string): Buffer =>
  createHmac('sha256', key).update(CONTEXT).update(body).digest();

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// Approval links (src/host/approvals/links.ts): what the install's key signed reads back; anything
// edited, truncated, signed with another key or past the approval's expiry is refused.
import { describe, expect, test } from 'vitest';
import { checkApprovalLink, signApprovalLink, type ApprovalLink } from '../../src/host/approvals/links.ts';

const KEY = 'k'.repeat(43);
const NOW = new Date('2026-06-01T10:00:00.000Z');
const LINK: ApprovalLink = {
  approvalId: 'apr_123',
  decision: 'approve',
  payloadHash: 'a'.repeat(64),
  choice: 'blue',
  userId: 'usr_olga',
  expiresAt: '2026-06-02T10:00:00.000Z',
};

/** The token with its body replaced by `fields`, keeping the old signature. */
function withBody(token: string, fields: unknown[]): string {
  return `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${token.split('.')[1]}`;
}

describe('approval links', () => {
  test('a link reads back as signed, with or without a choice', () => {
    expect(checkApprovalLink(KEY, signApprovalLink(KEY, LINK), NOW)).toEqual({ ok: true, link: LINK });
    const { choice: _, ...plain } = LINK;
    expect(checkApprovalLink(KEY, signApprovalLink(KEY, plain), NOW)).toEqual({ ok: true, link: plain });
  });

  test('an edited option, approval, approver or expiry is refused as forged', () => {
    const token = signApprovalLink(KEY, { ...LINK, decision: 'reject' });
    const edits = [
      ['apr_123', 'approve', LINK.payloadHash, 'blue', 'usr_olga', LINK.expiresAt],
      ['apr_999', 'reject', LINK.payloadHash, 'blue', 'usr_olga', LINK.expiresAt],
      ['apr_123', 'reject', LINK.payloadHash, 'blue', 'usr_mallory', LINK.expiresAt],
      ['apr_123', 'reject', LINK.payloadHash, 'blue', 'usr_olga', '2027-01-01T00:00:00.000Z'],
    ];
    for (const fields of edits) {
      expect(checkApprovalLink(KEY, withBody(token, fields), NOW)).toEqual({ ok: false, reason: 'forged' });
    }
  });

  test('another key, a cut or padded token, and junk are refused as forged', () => {
    const token = signApprovalLink(KEY, LINK);
    const refusals = [
      signApprovalLink('x'.repeat(43), LINK),
      token.slice(0, -2),
      `${token}.x`,
      token.split('.')[0]!,
      `.${token.split('.')[1]}`,
      '',
      'not a link',
      `${token}${'A'.repeat(5000)}`,
    ];
    for (const forged of refusals) {
      expect(checkApprovalLink(KEY, forged, NOW)).toEqual({ ok: false, reason: 'forged' });
    }
  });

  test('a link is refused once its approval has expired', () => {
    const token = signApprovalLink(KEY, LINK);
    expect(checkApprovalLink(KEY, token, new Date(LINK.expiresAt))).toEqual({ ok: false, reason: 'expired' });
    expect(checkApprovalLink(KEY, token, new Date(Date.parse(LINK.expiresAt) - 1)).ok).toBe(true);
  });
});

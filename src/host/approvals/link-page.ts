// The page an approval link opens (links.ts, docs/approvals.md), mounted at /approve on the host. A GET
// only shows what the link would decide and asks to confirm: mail scanners and link previews follow
// links, and must decide nothing. The confirmation POST decides, as the approver the link was sent to.
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { getApproval, type Approval } from '../../db/approvals.ts';
import type { Db } from '../../db/connection.ts';
import { actorName } from './actor-name.ts';
import type { DecisionInput, DecisionOutcome, DecisionRefusal } from './index.ts';
import { KIND_HANDLERS } from './kinds/index.ts';
import { checkApprovalLink, type ApprovalLink } from './links.ts';

export interface LinkPageDeps {
  db: Db;
  clock: () => Date;
  /** The install's link key (data folder `link-key`). */
  key: string;
  submitDecision(input: DecisionInput): Promise<DecisionOutcome>;
}

type Status = 200 | 400 | 403 | 404 | 409 | 410 | 422;

const REFUSED: Record<DecisionRefusal, { status: Status; text: string }> = {
  not_found: { status: 404, text: 'There is no such approval any more.' },
  unauthorized: { status: 403, text: 'You may no longer decide this approval.' },
  already_decided: { status: 409, text: 'This approval was already decided; the link cannot be used again.' },
  expired: { status: 410, text: 'This approval has expired.' },
  payload_changed: {
    status: 409,
    text: 'What was asked changed since this link was sent; nothing was decided.',
  },
  invalid_edit: { status: 422, text: 'Nothing was decided.' },
  invalid_choice: { status: 422, text: 'That choice is no longer offered; nothing was decided.' },
  apply_failed: { status: 422, text: 'The approval could not be carried out; nothing was decided.' },
};

export function approvalLinkPage(deps: LinkPageDeps): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    // The link is the credential: never cached, never sent on as a referrer, never framed or indexed.
    c.header('cache-control', 'no-store');
    c.header('referrer-policy', 'no-referrer');
    c.header('x-robots-tag', 'noindex');
    c.header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  app.get('/:token', (c) => {
    const checked = check(c);
    if ('page' in checked) return checked.page;
    const { link, approval } = checked;
    if (approval.status !== 'pending') return refused(c, 'already_decided');
    return page(
      c,
      200,
      'Confirm your decision',
      html`<p>${actorName(deps.db, link.userId)}, you are about to <strong>${verdict(link)}</strong>:</p>
        <pre>${approval.renderedEffect}</pre>
        <p>Nothing has been decided yet.</p>
        <form method="post"><button type="submit">${verdict(link)}</button></form>`,
    );
  });

  app.post('/:token', async (c) => {
    const checked = check(c);
    if ('page' in checked) return checked.page;
    const { link } = checked;
    const outcome = await deps.submitDecision({
      approvalId: link.approvalId,
      decision: link.decision,
      payloadHash: link.payloadHash,
      ...(link.choice ? { choice: link.choice } : {}),
      decider: { userId: link.userId },
      via: 'link',
    });
    if (!outcome.ok) return refused(c, outcome.code);
    return page(
      c,
      200,
      'Decided',
      html`<p>
        ${outcome.approval.status === 'approved' ? 'Approved' : 'Rejected'}. You may close this page.
      </p>`,
    );
  });

  return app;

  /** The link's claims and its approval, or the page refusing it. */
  function check(
    c: Context,
  ): { link: ApprovalLink; approval: Approval } | { page: Response | Promise<Response> } {
    const result = checkApprovalLink(deps.key, c.req.param('token') ?? '', deps.clock());
    if (!result.ok) {
      return result.reason === 'expired'
        ? { page: refused(c, 'expired') }
        : {
            page: page(c, 400, 'Not a valid link', html`<p>This link is not valid. Nothing was decided.</p>`),
          };
    }
    const approval = getApproval(deps.db, result.link.approvalId);
    if (!approval) return { page: refused(c, 'not_found') };
    return { link: result.link, approval };
  }

  function verdict(link: ApprovalLink): string {
    const approval = getApproval(deps.db, link.approvalId);
    const title = approval ? KIND_HANDLERS[approval.kind]?.title : undefined;
    const verb = link.decision === 'approve' ? 'Approve' : 'Reject';
    return `${verb}${link.choice ? ` (${link.choice})` : ''}${title ? `: ${title}` : ''}`;
  }
}

function refused(c: Context, code: DecisionRefusal): Response | Promise<Response> {
  const { status, text } = REFUSED[code];
  return page(c, status, 'Nothing decided', html`<p>${text}</p>`);
}

function page(
  c: Context,
  status: Status,
  title: string,
  body: HtmlEscapedString | Promise<HtmlEscapedString>,
) {
  return c.html(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>${title} · Warren</title>
          <style>
            body {
              font:
                16px/1.5 system-ui,
                sans-serif;
              max-width: 40rem;
              margin: 2rem auto;
              padding: 0 1rem;
            }
            pre {
              white-space: pre-wrap;
              background: #f4f4f4;
              padding: 1rem;
            }
            button {
              font-size: 1rem;
              padding: 0.5rem 1.5rem;
            }
          </style>
        </head>
        <body>
          <h1>${title}</h1>
          ${body}
        </body>
      </html>`,
    status,
  );
}

// SMTP's failures → the closed taxonomy of ChannelSendError codes. A 4xx reply or a broken connection is
// worth retrying; a 5xx reply is the server's final word, classified by its (enhanced) status code.
import type { DeliveryErrorCode } from '../../../../db/enums.ts';
import { ChannelSendError } from '../../channel.ts';

/** A 4xx that says "slow down": waited out by the machinery instead of counted as a failure. */
const RATE_LIMIT_WAIT_MS = 30_000;

interface SmtpFailure {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  message?: unknown;
}

export function toChannelSendError(error: unknown): ChannelSendError {
  if (error instanceof ChannelSendError) return error;
  const failure = (typeof error === 'object' && error !== null ? error : {}) as SmtpFailure;
  const status = typeof failure.responseCode === 'number' ? failure.responseCode : undefined;
  const response = typeof failure.response === 'string' ? failure.response : '';
  const text = describe(failure, response);
  if (status !== undefined && status >= 400 && status < 500) {
    return /rate|too many|throttl|try again later/i.test(response) && status !== 452
      ? new ChannelSendError('rate_limited', text, RATE_LIMIT_WAIT_MS)
      : new ChannelSendError('transient', text);
  }
  if (status !== undefined && status >= 500 && status < 600) {
    return new ChannelSendError(permanentCode(status, response), text);
  }
  if (failure.code === 'EAUTH') return new ChannelSendError('auth_failed', text);
  if (failure.code === 'EENVELOPE' || failure.code === 'EMESSAGE') {
    return new ChannelSendError('invalid_request', text);
  }
  // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL…: the link, not the mail.
  return new ChannelSendError('transient', text);
}

/** A 5xx reply's meaning, from its enhanced status code (RFC 3463) when it has one. */
export function permanentCode(status: number, response: string): DeliveryErrorCode {
  const enhanced = /\b5\.(\d{1,3})\.(\d{1,3})\b/.exec(response);
  const [cls, detail] = enhanced ? [Number(enhanced[1]), Number(enhanced[2])] : [undefined, undefined];
  if (status === 530 || status === 534 || status === 535 || status === 538) return 'auth_failed';
  if (cls === 7 && (detail === 8 || detail === 0) && /auth/i.test(response)) return 'auth_failed';
  if (status === 552 || (cls === 3 && detail === 4) || /too (big|large)|size/i.test(response)) {
    return 'too_large';
  }
  if (cls === 1 || status === 551) return 'not_found';
  if (cls === 7 || status === 554) return 'forbidden';
  if (status === 550 || status === 553) return 'not_found';
  if ((status >= 500 && status <= 504) || status === 555 || cls === 5 || cls === 6) return 'invalid_request';
  return 'unknown';
}

function describe(failure: SmtpFailure, response: string): string {
  const what = response !== '' ? response : typeof failure.message === 'string' ? failure.message : 'failed';
  const code = typeof failure.code === 'string' ? ` (${failure.code})` : '';
  const line = `smtp: ${what}${code}`.replace(/[\r\n]+/g, ' ');
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

// Who may post activities to the messaging endpoint: a bearer JWT signed by a key published in the
// Bot Framework's OpenID metadata (RS256), issued by the Bot Framework, for this bot's app id, within
// its lifetime (± the clock tolerance), and naming in its `serviceurl` claim the service URL the activity
// says to answer at. The signature, audience, issuer and lifetime checks are the Teams SDK's JwtValidator
// (jsonwebtoken + jwks-rsa); the keys' address comes from the metadata document.
import type { ILogger } from '@microsoft/teams.common';
import type { Logger } from '../../../logger.ts';
import { JwtValidator } from './sdk.ts';

export interface InboundAuthOptions {
  appId: string;
  openIdMetadataUrl: string;
  tokenIssuer: string;
  clockToleranceSeconds: number;
  timeoutMs: number;
  log: Logger;
}

/** A verified token's claims that matter here. */
export interface VerifiedCaller {
  serviceUrl: string;
}

/** Thrown when the keys cannot be fetched: the request is answered 503 so Microsoft retries it. */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError';
}

const MAX_TOKEN_CHARS = 16 * 1024;
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;
/** How long the metadata's jwks_uri is trusted before it is read again. */
const METADATA_TTL_MS = 24 * 60 * 60 * 1000;

export function createInboundAuth(options: InboundAuthOptions) {
  let validator: { jwksUri: string; at: number; validator: JwtValidator } | undefined;
  const sdkLog = sdkLogger(options.log);

  return { verify };

  /**
   * The caller behind an `Authorization` header, or null when the header is missing, malformed or its
   * token does not verify. Rejects with KeysUnavailableError only when the keys cannot be fetched.
   */
  async function verify(header: string | undefined): Promise<VerifiedCaller | null> {
    const token = /^Bearer ([^\s]+)$/i.exec(header ?? '')?.[1];
    if (token === undefined || token.length > MAX_TOKEN_CHARS || !JWT_SHAPE.test(token)) return null;
    const payload = await (await current()).validateAccessToken(token);
    if (payload === null) return null;
    const serviceUrl = (payload as { serviceurl?: unknown }).serviceurl;
    if (typeof serviceUrl !== 'string' || serviceUrl === '') return null;
    return { serviceUrl };
  }

  async function current(): Promise<JwtValidator> {
    if (validator && Date.now() - validator.at < METADATA_TTL_MS) return validator.validator;
    const jwksUri = await readJwksUri(options.openIdMetadataUrl, options.timeoutMs);
    validator = {
      jwksUri,
      at: Date.now(),
      validator: new JwtValidator(
        {
          clientId: options.appId,
          validateIssuer: { allowedIssuer: options.tokenIssuer },
          jwksUriOptions: { type: 'uri', uri: jwksUri },
          clockTolerance: options.clockToleranceSeconds,
        },
        sdkLog,
      ),
    };
    return validator.validator;
  }
}

async function readJwksUri(metadataUrl: string, timeoutMs: number): Promise<string> {
  let body: unknown;
  try {
    const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new KeysUnavailableError(
      `teams: the OpenID metadata at ${metadataUrl} cannot be read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const uri = (body as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof uri !== 'string' || !/^https?:\/\//.test(uri) || uri.length > 2048) {
    throw new KeysUnavailableError(`teams: the OpenID metadata at ${metadataUrl} names no jwks_uri`);
  }
  return uri;
}

/** The SDK logs every refused token as an error; here that is a debug line (refusals are answered 401). */
function sdkLogger(log: Logger): ILogger {
  const line = (...msg: unknown[]) =>
    log.debug(
      msg
        .map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : ''))
        .join(' '),
    );
  const logger: ILogger = {
    debug: () => {},
    trace: () => {},
    info: line,
    warn: line,
    error: line,
    log: (_level: unknown, ...msg: unknown[]) => line(...msg),
    child: () => logger,
  };
  return logger;
}

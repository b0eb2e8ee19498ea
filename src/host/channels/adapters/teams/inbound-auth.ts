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
/** How long the metadata and its key set are trusted before they are read again. */
const METADATA_TTL_MS = 24 * 60 * 60 * 1000;
/** A token naming a key not in the set reads the set again, at most this often (keys rotate). */
const UNKNOWN_KEY_REFRESH_MS = 5 * 60 * 1000;

export function createInboundAuth(options: InboundAuthOptions) {
  let keys: SigningKeys | undefined;
  let loading: Promise<SigningKeys> | undefined;
  const sdkLog = sdkLogger(options.log);

  return { verify };

  /**
   * The caller behind an `Authorization` header, or null when the header is missing, malformed or its
   * token does not verify. Rejects with KeysUnavailableError only when the keys cannot be fetched.
   */
  async function verify(header: string | undefined): Promise<VerifiedCaller | null> {
    const token = /^Bearer ([^\s]+)$/i.exec(header ?? '')?.[1];
    if (token === undefined || token.length > MAX_TOKEN_CHARS || !JWT_SHAPE.test(token)) return null;
    const kid = keyIdOf(token);
    if (kid === undefined) return null;
    // A key id never published is refused here: otherwise each such token would make the SDK's key
    // client fetch the key set again (a way to make Warren hammer Microsoft's key endpoint).
    const current = await signingKeys(kid);
    if (!current.kids.has(kid)) return null;
    const payload = await current.validator.validateAccessToken(token);
    if (payload === null) return null;
    const serviceUrl = (payload as { serviceurl?: unknown }).serviceurl;
    if (typeof serviceUrl !== 'string' || serviceUrl === '') return null;
    return { serviceUrl };
  }

  /** The published keys: read again after a day, or when a token names an unknown key (at most every 5 min). */
  async function signingKeys(kid: string): Promise<SigningKeys> {
    const now = Date.now();
    const stale =
      keys === undefined ||
      now - keys.at > METADATA_TTL_MS ||
      (!keys.kids.has(kid) && now - keys.at > UNKNOWN_KEY_REFRESH_MS);
    if (!stale) return keys!;
    loading ??= load().finally(() => (loading = undefined));
    return loading;
  }

  async function load(): Promise<SigningKeys> {
    const jwksUri = await readJwksUri(options.openIdMetadataUrl, options.timeoutMs);
    const kids = await readKeyIds(jwksUri, options.timeoutMs);
    const validator =
      keys?.jwksUri === jwksUri
        ? keys.validator
        : new JwtValidator(
            {
              clientId: options.appId,
              validateIssuer: { allowedIssuer: options.tokenIssuer },
              jwksUriOptions: { type: 'uri', uri: jwksUri },
              clockTolerance: options.clockToleranceSeconds,
            },
            sdkLog,
          );
    keys = { jwksUri, kids, at: Date.now(), validator };
    return keys;
  }
}

interface SigningKeys {
  jwksUri: string;
  kids: Set<string>;
  at: number;
  validator: JwtValidator;
}

/** The `kid` of a JWT's header, when it has a sane one. */
function keyIdOf(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' && /^[\w.+/=-]{1,256}$/.test(header.kid) ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

async function fetchJson(url: string, timeoutMs: number, what: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch (error) {
    throw new KeysUnavailableError(
      `teams: ${what} at ${url} cannot be read (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

async function readJwksUri(metadataUrl: string, timeoutMs: number): Promise<string> {
  const body = await fetchJson(metadataUrl, timeoutMs, 'the OpenID metadata');
  const uri = (body as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof uri !== 'string' || !/^https?:\/\//.test(uri) || uri.length > 2048) {
    throw new KeysUnavailableError(`teams: the OpenID metadata at ${metadataUrl} names no jwks_uri`);
  }
  return uri;
}

async function readKeyIds(jwksUri: string, timeoutMs: number): Promise<Set<string>> {
  const body = await fetchJson(jwksUri, timeoutMs, 'the signing keys');
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new KeysUnavailableError(`teams: ${jwksUri} lists no keys`);
  return new Set(
    list
      .slice(0, 100)
      .map((key) => (key as { kid?: unknown } | null)?.kid)
      .filter((kid): kid is string => typeof kid === 'string'),
  );
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

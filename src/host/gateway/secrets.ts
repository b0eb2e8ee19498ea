// Model API keys, read on the host only: from the environment or a secrets file that only the host's
// user can read. Containers never see them; the gateway adds them to the calls it forwards.
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

export interface Secrets {
  /** The key stored under `name`; the environment wins over the file. */
  get(name: string): string | undefined;
  /** Where keys come from, for start-up messages (never the values). */
  readonly file: string;
}

export class SecretsFileError extends Error {
  override name = 'SecretsFileError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`secrets file ${file} ${problem}; Warren does not start until it is fixed`);
  }
}

const NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
// Keys go into HTTP headers: surrounding whitespace (a pasted newline) is dropped, and a key with
// other characters is refused here rather than failing, quoted, inside an HTTP client's error.
const keyValue = z
  .string()
  .trim()
  .regex(/^[\x21-\x7e]+$/, 'a key is one word of printable ASCII characters');
const fileSchema = z.record(
  z.string().regex(NAME, 'names are environment-style, e.g. ANTHROPIC_API_KEY'),
  keyValue,
);

/**
 * Reads the secrets file once (a missing file is fine: keys may all come from the environment).
 * A file that others can read, or that is not a flat { "NAME": "value" } object, throws
 * SecretsFileError; its message never contains a value.
 */
export function loadSecrets(options: { file: string; env: NodeJS.ProcessEnv }): Secrets {
  const stored = readSecretsFile(options.file);
  return {
    file: options.file,
    get(name) {
      const fromEnv = options.env[name]?.trim();
      const value = fromEnv ? fromEnv : stored[name];
      return value && keyValue.safeParse(value).success ? value : undefined;
    },
  };
}

function readSecretsFile(file: string): Record<string, string> {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SecretsFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new SecretsFileError(
      file,
      `can be read by other users (mode ${octal}); run: chmod 600 ${JSON.stringify(file)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // The parser's message may quote the file's text, i.e. a key: say only where.
    throw new SecretsFileError(file, 'is not valid JSON (expected { "NAME": "value", … })');
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(top level)').join(', ');
    throw new SecretsFileError(
      file,
      `must be a flat object of names to non-empty strings (problem at: ${where})`,
    );
  }
  return parsed.data;
}

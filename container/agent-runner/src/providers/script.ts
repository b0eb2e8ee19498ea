// The scripted provider's script: format, validation, rule choice and placeholders. Everything
// here is pure except loadScript, which reads the file. The format is documented in the README.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export type Step =
  | { reply: string }
  | { tool: string; args: Record<string, unknown> }
  | { delay: number }
  | { error: string }
  | { exit: number };

export interface Script {
  rules: { match: RegExp; steps: Step[] }[];
  default: Step[];
}

export const PLACEHOLDERS = [
  'text',
  'sender',
  'seq',
  'tool_result',
  'prompt',
  'attachments',
  'attachment_text',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type Vars = Record<Placeholder, string>;

/** Used when the group has no script.json, and when a script has no `default`. */
export const ECHO_STEPS: Step[] = [{ reply: 'echo: {{text}}' }];

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

const template = z.string().superRefine((text, ctx) => {
  const unknown = unknownPlaceholders(text);
  if (unknown.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown placeholder(s) ${unknown.map((p) => `{{${p}}}`).join(', ')}; known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
    });
  }
});

const stepShapes = {
  reply: z.strictObject({ reply: template }),
  tool: z.strictObject({
    tool: z.string().min(1),
    args: z
      .record(z.string(), z.unknown())
      .default({})
      .superRefine((args, ctx) => {
        const unknown = unknownPlaceholders(JSON.stringify(args));
        if (unknown.length > 0)
          ctx.addIssue({ code: 'custom', message: `unknown placeholder(s) in args: ${unknown.join(', ')}` });
      }),
  }),
  delay: z.strictObject({ delay: z.number().int().min(0).max(600_000) }),
  error: z.strictObject({ error: template.refine((t) => t.length > 0, 'must not be empty') }),
  exit: z.strictObject({ exit: z.number().int().min(0).max(255) }),
} as const;
const STEP_KINDS = Object.keys(stepShapes) as (keyof typeof stepShapes)[];

// Dispatch on the step's key first, so a mistake is reported for that kind of step rather than
// as "matches none of five shapes".
const step = z.unknown().transform((value, ctx): Step => {
  const kind =
    typeof value === 'object' && value !== null ? STEP_KINDS.find((k) => Object.hasOwn(value, k)) : undefined;
  if (!kind) {
    ctx.addIssue({ code: 'custom', message: `a step needs one of the keys ${STEP_KINDS.join(', ')}` });
    return z.NEVER;
  }
  const parsed = stepShapes[kind].safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return parsed.data;
});

const regex = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression (${(err as Error).message})` });
    return z.NEVER;
  }
});

const scriptSchema = z.strictObject({
  rules: z.array(z.strictObject({ match: regex, steps: z.array(step).min(1) })).default([]),
  default: z.array(step).min(1).optional(),
});

export type Loaded = { ok: true; script: Script } | { ok: false; error: string };

/** Parses a script's JSON text; every problem is named with where it is. */
export function parseScript(json: string, name: string): Loaded {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { ok: false, error: `${name} is not valid JSON (${(err as Error).message})` };
  }
  const parsed = scriptSchema.safeParse(value);
  if (!parsed.success) return { ok: false, error: `${name} is invalid: ${z.prettifyError(parsed.error)}` };
  return { ok: true, script: { rules: parsed.data.rules, default: parsed.data.default ?? ECHO_STEPS } };
}

/** Reads the script at `path`; no file at all means the echo script. */
export function loadScript(path: string): Loaded {
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { ok: true, script: { rules: [], default: ECHO_STEPS } };
    return { ok: false, error: `${path} cannot be read (${(err as Error).message})` };
  }
  return parseScript(json, path);
}

/** The steps of the first rule whose regex matches the text, else the script's default. */
export function chooseSteps(script: Script, text: string): Step[] {
  return script.rules.find((rule) => rule.match.test(text))?.steps ?? script.default;
}

export function fillTemplate(text: string, vars: Vars): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? vars[name as Placeholder] : whole,
  );
}

/** Fills placeholders in every string inside a tool's args (nested objects and arrays too). */
export function fillArgs(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') return fillTemplate(value, vars);
  if (Array.isArray(value)) return value.map((item) => fillArgs(item, vars));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillArgs(item, vars)]));
  }
  return value;
}

function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)]
    .map((m) => m[1] ?? '')
    .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

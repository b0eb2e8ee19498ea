// The docs and the `warren` command agree: every `warren <command>` that README.md or docs/*.md shows
// is a command the CLI has and answers `help` with its usage, without acting; the README lists every
// command and every page of docs/. The usage and a few commands' help come from the real `warren`
// entry, as an operator runs it; every other command's help from the entry's own help function
// (src/host/cli/help.ts), in this process: a process per command is slow on a small machine.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { answerHelp } from '../../src/host/cli/help.ts';

const run = promisify(execFile);
type Result = { code: number | string; stdout: string; stderr: string };

// A command that acts instead of answering `help` (`start` would run a host) is stopped after this.
const HELP_TIMEOUT_MS = 30_000;

function warren(args: string[], port: number): Promise<Result> {
  return run(process.execPath, ['bin/warren.js', ...args], {
    env: { ...process.env, WARREN_PORT: String(port) },
    timeout: HELP_TIMEOUT_MS,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number | null; signal: string | null; stdout: string; stderr: string }) => ({
      code: err.code ?? `killed by ${err.signal}`,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

/** A loopback port nothing listens on, so a command that tries to reach the host finds none. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const DOCS = ['README.md', ...readdirSync('docs').map((name) => `docs/${name}`)].filter((path) =>
  path.endsWith('.md'),
);

/** The code in a Markdown text: fenced blocks and inline spans, where commands are written. */
function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...fenced, ...inline];
}

type Mention = { command: string; next: string[]; where: string };

/** Each `warren <command> [<word>]` in the code of a doc; `next` splits `a|b` alternatives. */
function mentionsIn(path: string): Mention[] {
  return codeOf(readFileSync(path, 'utf8')).flatMap((code) =>
    [...code.matchAll(/(?<![\w./-])warren ([a-z][a-z-]*)(?: ([a-z][a-z|-]*))?/g)].map((m) => ({
      command: m[1]!,
      next: m[2] ? m[2].split('|') : [],
      where: `${path}: ${m[0]}`,
    })),
  );
}

const mentions = DOCS.flatMap(mentionsIn);
const documented = [...new Set(mentions.map((m) => m.command))].sort();

/** The command names under "commands:" in `warren --help`. */
function commandsListed(usage: string): string[] {
  const section = usage.split(/^commands:\n/m)[1]?.split(/\n\n/)[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

let port: number;
let cliCommands: string[];

beforeAll(async () => {
  port = await freePort();
  const usage = await warren(['--help'], port);
  expect(usage.code).toBe(0);
  cliCommands = commandsListed(usage.stdout);
  expect(cliCommands).toContain('start');
});

test('the docs name commands at all (the extraction works)', () => {
  expect(documented).toEqual(expect.arrayContaining(['init', 'start', 'chat', 'users', 'tasks']));
});

describe.each(documented)('warren %s', (command) => {
  test('is a command of `warren --help`', () => {
    expect(cliCommands, mentions.find((m) => m.command === command)!.where).toContain(command);
  });

  test('answers `help` with its usage', () => {
    const answer = answerHelp([command, 'help'], false);
    expect(answer).toMatchObject({ code: 0, text: expect.stringContaining(`warren ${command}`) });
    // A documented subcommand is one `help` names, when the command has subcommands at all.
    const subcommands = new Set(
      [...answer!.text.matchAll(new RegExp(`warren ${command} ([a-z][a-z-]*)`, 'g'))].map((m) => m[1]!),
    );
    if (subcommands.size === 0) return;
    const named = mentions
      .filter((m) => m.command === command)
      .flatMap((m) => m.next.filter((word) => word !== 'help').map((word) => [word, m.where]));
    for (const [word, where] of named) expect([...subcommands], where).toContain(word);
  });
});

// `start` would run a host and `init` would make the data folder, were help not answered first.
test.each(['start help', 'init help', 'users help', 'help wire'])(
  'the real command answers `warren %s` without acting',
  async (line) => {
    const words = line.split(' ');
    const dataDir = join(mkdtempSync(join(tmpdir(), 'warren-docs-help-')), 'data');
    const result = await warren([...words, '--data-dir', dataDir], port);
    const command = words[0] === 'help' ? words[1]! : words[0]!;
    expect(result).toMatchObject({ code: 0, stdout: answerHelp([command, 'help'], false)!.text });
    expect(existsSync(dataDir), 'help created the data folder').toBe(false);
  },
);

test('the README shows every command of `warren --help`', () => {
  const readme = mentionsIn('README.md').map((m) => m.command);
  for (const command of cliCommands) expect(readme, `warren ${command}`).toContain(command);
});

test('the README links every page of docs/', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const path of DOCS.filter((p) => p.startsWith('docs/'))) expect(readme).toContain(`](${path})`);
});

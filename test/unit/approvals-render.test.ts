// What a card says and what a click or a typed reply means: pure functions, no files.
import { describe, expect, test } from 'vitest';
import { canonicalJson, payloadHashOf } from '../../src/db/approvals.ts';
import { renderEffect, renderFields } from '../../src/host/approvals/render.ts';
import {
  approvalOptionValue,
  parseOptionValue,
  parseTextReply,
  questionOptionValue,
} from '../../src/host/approvals/replies.ts';
import { aptDependencyNames, packageImageTag } from '../../src/host/containers/package-image.ts';
import { groupImage } from '../../src/host/lifecycle.ts';

describe('rendering a payload', () => {
  test('every field is shown, nested objects and arrays included, each value quoted', () => {
    const lines = renderFields({
      name: 'weather',
      command: '/usr/bin/node',
      args: ['server.js', '--port', 8080],
      env: { API_KEY: 'k-123', EMPTY: '' },
      options: { retries: 3, nested: { deep: true, none: null } },
      tags: [],
      extra: {},
      list: [{ a: 1 }, { b: [2, 3] }],
    });
    expect(lines).toEqual([
      'args:',
      '  - "server.js"',
      '  - "--port"',
      '  - 8080',
      'command: "/usr/bin/node"',
      'env:',
      '  API_KEY: "k-123"',
      '  EMPTY: ""',
      'extra: {}',
      'list:',
      '  -',
      '    a: 1',
      '  -',
      '    b:',
      '      - 2',
      '      - 3',
      'name: "weather"',
      'options:',
      '  nested:',
      '    deep: true',
      '    none: null',
      '  retries: 3',
      'tags: []',
    ]);
  });

  test('a value cannot pass itself off as more lines or fields of the card', () => {
    const text = renderEffect('Adds a server.', {
      command: 'rm -rf /\nenv: {}\n\nLooks safe',
      'weird: key': 'x',
    });
    expect(text.split('\n')).toEqual([
      'Adds a server.',
      '',
      'command: "rm -rf /\\nenv: {}\\n\\nLooks safe"',
      '"weird: key": "x"',
    ]);
  });

  test('long values are shown in full', () => {
    const long = 'y'.repeat(5000);
    expect(renderFields({ long }).join('')).toContain(long);
  });
});

describe('payload hashes', () => {
  test('the same payload has the same hash whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 4, e: 5 }] } })).toBe(
      '{"a":{"c":[3,{"e":5,"f":4}],"d":2},"b":1}',
    );
    expect(payloadHashOf({ x: 1, y: 2 })).toBe(payloadHashOf({ y: 2, x: 1 }));
    expect(payloadHashOf({ x: 1 })).not.toBe(payloadHashOf({ x: 2 }));
  });
});

describe('clicks and typed replies', () => {
  const hash = 'a'.repeat(64);

  test('card option values carry the approval, the verdict, the hash shown and a choice', () => {
    expect(parseOptionValue(approvalOptionValue('apr_1', 'approve', hash, 'ag_2'))).toEqual({
      type: 'approval',
      approvalId: 'apr_1',
      decision: 'approve',
      payloadHash: hash,
      choice: 'ag_2',
    });
    expect(parseOptionValue(approvalOptionValue('apr_1', 'reject', hash))).toMatchObject({
      decision: 'reject',
    });
    expect(parseOptionValue(questionOptionValue('q_9', 2))).toEqual({
      type: 'question',
      questionId: 'q_9',
      option: 2,
    });
  });

  test('anything else is not an option value', () => {
    for (const text of [
      'hello',
      'apr:apr_1:approve:short',
      `apr:apr_1:maybe:${hash}`,
      'q:q_1:0',
      `apr:x y:approve:${hash}`,
    ]) {
      expect(parseOptionValue(text)).toBeUndefined();
    }
  });

  test('a typed number, or approve/reject with an id and an optional note', () => {
    expect(parseTextReply(' 2 ')).toEqual({ type: 'number', n: 2 });
    expect(parseTextReply('Approve apr_x1')).toEqual({
      type: 'command',
      decision: 'approve',
      approvalId: 'apr_x1',
    });
    expect(parseTextReply('reject apr_x1 too risky')).toEqual({
      type: 'command',
      decision: 'reject',
      approvalId: 'apr_x1',
      note: 'too risky',
    });
    expect(parseTextReply('0')).toBeUndefined();
    expect(parseTextReply('100')).toBeUndefined();
    expect(parseTextReply('I approve')).toBeUndefined();
  });
});

describe('package images', () => {
  test('one tag per base and set of packages, whatever their order', () => {
    const a = packageImageTag('localhost/warren-agent:1', { apt: ['jq', 'curl'], npm: ['x'] });
    expect(a).toBe(packageImageTag('localhost/warren-agent:1', { apt: ['curl', 'jq', 'jq'], npm: ['x'] }));
    expect(a).not.toBe(packageImageTag('localhost/warren-agent:2', { apt: ['jq', 'curl'], npm: ['x'] }));
    expect(a).toMatch(/^localhost\/warren-agent-packages:[0-9a-f]{12}$/);
  });

  test('apt-cache depends output gives the packages, not virtual ones or relations', () => {
    const output = [
      'jq',
      '  Depends: libjq1',
      'libjq1',
      '  Depends: libc6',
      '  Depends: <libonig5>',
      '<virtual-x>',
      'libc6',
      '',
    ].join('\n');
    expect(aptDependencyNames(output)).toEqual(['jq', 'libjq1', 'libc6']);
  });

  test('a group uses its package image only when it was built on the current agent image', () => {
    expect(groupImage({}, 'base:2')).toBe('base:2');
    expect(groupImage({ image: 'pkg:1', imageBase: 'base:2' }, 'base:2')).toBe('pkg:1');
    expect(groupImage({ image: 'pkg:1', imageBase: 'base:1' }, 'base:2')).toBe('base:2');
  });
});

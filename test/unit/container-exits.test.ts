// The engine's event lines, as Podman and Docker write them, read into "this container exited with".
import { describe, expect, test } from 'vitest';
import { parseEvent } from '../../src/host/containers/exits.ts';

const event = (fields: Record<string, unknown>) => JSON.stringify({ Type: 'container', ...fields });

describe('parseEvent', () => {
  test("Podman's die event carries containerExitCode", () => {
    const line = event({
      status: 'die',
      id: 'abc',
      Action: 'die',
      Actor: { ID: 'abc', Attributes: { containerExitCode: '3', image: 'x' } },
    });
    expect(parseEvent(line)).toEqual({ id: 'abc', exitCode: 3 });
  });

  test("Docker's die event carries exitCode", () => {
    const line = event({ Action: 'die', Actor: { ID: 'def', Attributes: { exitCode: '137' } } });
    expect(parseEvent(line)).toEqual({ id: 'def', exitCode: 137 });
  });

  test.each([
    [
      'another action',
      event({ Action: 'start', Actor: { ID: 'a', Attributes: { containerExitCode: '0' } } }),
    ],
    [
      'another type',
      JSON.stringify({ Type: 'image', Action: 'die', Actor: { ID: 'a', Attributes: { exitCode: '0' } } }),
    ],
    ['no exit code', event({ Action: 'die', Actor: { ID: 'a', Attributes: {} } })],
    ['a non-integer exit code', event({ Action: 'die', Actor: { ID: 'a', Attributes: { exitCode: 'x' } } })],
    ['no id', event({ Action: 'die', Actor: { Attributes: { exitCode: '0' } } })],
    ['not JSON', '{"Type":"container",'],
  ])('%s is not an exit', (_what, line) => {
    expect(parseEvent(line)).toBeUndefined();
  });
});

import { describe, expect, test } from 'vitest';
import {
  decideAccess,
  type AccessAction,
  type AccessDecision,
  type AccessFacts,
} from '../../src/host/access/index.ts';
import { USER_STATUSES } from '../../src/db/enums.ts';

const G = 'ag_this';
const OTHER = 'ag_other';

// Every standing a user can have towards agent group G.
const STANDINGS: Record<string, Pick<AccessFacts, 'roles' | 'memberOf'>> = {
  nobody: { roles: [], memberOf: [] },
  'member of another group': { roles: [], memberOf: [OTHER] },
  'admin of another group': { roles: [{ role: 'admin', agentGroupId: OTHER }], memberOf: [] },
  member: { roles: [], memberOf: [G] },
  'group admin': { roles: [{ role: 'admin', agentGroupId: G }], memberOf: [] },
  'global admin': { roles: [{ role: 'admin', agentGroupId: null }], memberOf: [] },
  owner: { roles: [{ role: 'owner', agentGroupId: null }], memberOf: [] },
};

const ACTIONS: Record<string, AccessAction> = {
  'message G': { kind: 'message', agentGroupId: G },
  'decide an approval of G': { kind: 'decide_approval', agentGroupId: G },
  'decide an approval of no group': { kind: 'decide_approval', agentGroupId: null },
  'administer G': { kind: 'administer', agentGroupId: G },
  'administer the install': { kind: 'administer' },
  'grant owner': { kind: 'grant', role: 'owner', agentGroupId: null },
  'grant global admin': { kind: 'grant', role: 'admin', agentGroupId: null },
  'grant admin of G': { kind: 'grant', role: 'admin', agentGroupId: G },
  'grant member of G': { kind: 'grant', role: 'member', agentGroupId: G },
};

// What a user with no standing in G may do: nothing.
const NO_STANDING_IN_G: Record<string, string> = {
  'message G': '-not_member',
  'decide an approval of G': '-not_admin',
  'decide an approval of no group': '-not_admin',
  'administer G': '-not_admin',
  'administer the install': '-not_admin',
  'grant owner': '-not_owner',
  'grant global admin': '-not_owner',
  'grant admin of G': '-not_admin',
  'grant member of G': '-not_admin',
};

// What an active user may do, by standing: the reason when allowed, the refusal otherwise.
const EXPECTED: Record<string, Record<string, string>> = {
  nobody: NO_STANDING_IN_G,
  'member of another group': NO_STANDING_IN_G,
  'admin of another group': NO_STANDING_IN_G,
  member: { ...NO_STANDING_IN_G, 'message G': '+member' },
  'group admin': {
    'message G': '+group_admin',
    'decide an approval of G': '+group_admin',
    'decide an approval of no group': '-not_admin',
    'administer G': '+group_admin',
    'administer the install': '-not_admin',
    'grant owner': '-not_owner',
    'grant global admin': '-not_owner',
    'grant admin of G': '-not_admin',
    'grant member of G': '+group_admin',
  },
  'global admin': {
    'message G': '+global_admin',
    'decide an approval of G': '+global_admin',
    'decide an approval of no group': '+global_admin',
    'administer G': '+global_admin',
    'administer the install': '+global_admin',
    'grant owner': '-not_owner',
    'grant global admin': '-not_owner',
    'grant admin of G': '+global_admin',
    'grant member of G': '+global_admin',
  },
  owner: {
    'message G': '+owner',
    'decide an approval of G': '+owner',
    'decide an approval of no group': '+owner',
    'administer G': '+owner',
    'administer the install': '+owner',
    'grant owner': '+owner',
    'grant global admin': '+owner',
    'grant admin of G': '+owner',
    'grant member of G': '+owner',
  },
};

const short = (d: AccessDecision) => `${d.allowed ? '+' : '-'}${d.reason}`;

describe('an active user', () => {
  for (const [standing, facts] of Object.entries(STANDINGS)) {
    test(`who is ${standing} gets the rule's answer for every action`, () => {
      const got = Object.fromEntries(
        Object.entries(ACTIONS).map(([name, action]) => [
          name,
          short(decideAccess({ status: 'active', mergedInto: null, ...facts }, action)),
        ]),
      );
      expect(got).toEqual(EXPECTED[standing]);
    });
  }
});

describe('a user who is not active is refused everything, whatever their roles', () => {
  const refusals = { suspended: '-user_suspended', invited: '-user_not_active' } as const;
  for (const status of USER_STATUSES.filter((s) => s !== 'active')) {
    for (const [standing, facts] of Object.entries(STANDINGS)) {
      test(`${status} ${standing}`, () => {
        for (const action of Object.values(ACTIONS)) {
          expect(short(decideAccess({ status, mergedInto: null, ...facts }, action))).toBe(refusals[status]);
        }
      });
    }
  }
});

test('a merged user is refused everything, even with an owner role left behind', () => {
  for (const action of Object.values(ACTIONS)) {
    const facts: AccessFacts = { status: 'active', mergedInto: 'u_new', ...STANDINGS.owner! };
    expect(short(decideAccess(facts, action))).toBe('-user_merged');
  }
});

test('an unknown user is refused everything', () => {
  for (const action of Object.values(ACTIONS)) {
    expect(short(decideAccess(undefined, action))).toBe('-unknown_user');
  }
});

test('every standing and action above has an expectation (the table is exhaustive)', () => {
  for (const standing of Object.keys(STANDINGS)) {
    expect(Object.keys(EXPECTED[standing] ?? {}).sort()).toEqual(Object.keys(ACTIONS).sort());
  }
});

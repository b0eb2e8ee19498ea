// What an installation row's settings may say about a Teams bot (validated; unknown keys refused). The
// app id is no secret (it is in every token Microsoft sends); the client secret is the appPassword role.
import { PUBLIC } from '@microsoft/teams.api';
import { z } from 'zod';

/** An Entra application (client) id or tenant id: a GUID, or a tenant's domain name for tenantId. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9.-]{1,253})$/i;
const httpUrl = z.url({ protocol: /^https?$/ });

export const teamsSettingsSchema = z
  .object({
    /** The only mode: Microsoft posts activities to the adapter's `http` app (the messaging endpoint). */
    mode: z.literal('bot').default('bot'),
    /** The bot's Microsoft App ID (Azure Bot → Configuration): the audience of inbound tokens. */
    appId: z
      .string({ error: 'appId is required: the bot’s Microsoft App ID (--set appId=…)' })
      .regex(GUID, 'appId is the bot’s Microsoft App ID, a GUID'),
    /** Single-tenant bots: their tenant; the bot token then comes from that tenant. */
    tenantId: z.string().regex(TENANT, 'tenantId is a GUID or a domain').optional(),
    /** Where the bot token comes from (client credentials); default from tenantId or botframework.com. */
    tokenUrl: httpUrl.optional(),
    tokenScope: z.string().min(1).max(512).default(PUBLIC.botScope),
    /** Where the keys that sign inbound tokens are published, and who issues those tokens. */
    openIdMetadataUrl: httpUrl.default(PUBLIC.openIdMetadataUrl),
    tokenIssuer: z.string().min(1).max(512).default(PUBLIC.tokenIssuer),
    /** Clock skew allowed on inbound tokens' exp and nbf. */
    clockToleranceSeconds: z.number().int().min(0).max(600).default(300),
    requestTimeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
    /** How often the bot token is checked (refreshed when due) while no activity arrives. */
    checkSeconds: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

export type TeamsSettings = z.infer<typeof teamsSettingsSchema>;

export function parseTeamsSettings(installation: string, settings: Record<string, unknown>): TeamsSettings {
  const parsed = teamsSettingsSchema.safeParse(settings);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(
    `teams installation ${installation}: bad settings (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'})`,
  );
}

/** The client-credentials endpoint: the setting, else the tenant's (or Bot Framework's) v2.0 token URL. */
export function tokenUrlOf(settings: TeamsSettings): string {
  return (
    settings.tokenUrl ??
    `${PUBLIC.loginEndpoint}/${settings.tenantId ?? PUBLIC.loginTenant}/oauth2/v2.0/token`
  );
}

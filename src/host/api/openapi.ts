// The admin API described for tools (OpenAPI 3.1 at GET /api/openapi.json). Each API file lists its
// routes as operations holding the same zod schemas its handlers validate with, so the document is
// generated from what the code checks, not written beside it. A test validates the document with an
// OpenAPI validator and calls every route in it.
import { z } from 'zod';

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface ApiOperation {
  method: Method;
  /** Relative to /api, in Hono's form: `/sessions/:id`. */
  path: string;
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success answer's body; `text/event-stream` routes give a string (the stream). */
  response: z.ZodType;
  status?: 200 | 201;
  contentType?: 'application/json' | 'text/event-stream';
  /** Error statuses besides 401, each answered with `{ error }`. */
  errors?: readonly (400 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429)[];
}

export const errorBody = z.object({ error: z.string(), code: z.string().optional() });

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input: the error names the field',
  401: 'no token, or an unknown, revoked or suspended one',
  403: "the token's user may not do this",
  404: 'no such thing',
  409: 'in conflict with what is there',
  410: 'gone (expired)',
  413: 'body too large',
  415: 'body is not JSON',
  422: 'well-formed but refused',
  429: 'too many at once',
};

/** The OpenAPI document of `operations`, served under `serverUrl`. */
export function openApiDocument(operations: readonly ApiOperation[], serverUrl = '/api') {
  const schemas: Record<string, unknown> = {};
  const toSchema = schemaWriter(schemas);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
    (paths[path] ??= {})[op.method] = operation(op, toSchema);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Warren admin API',
      version: '1',
      description: 'Token-authenticated operator API of a Warren host (docs/api.md).',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from `warren tokens create`' },
      },
      schemas: { Error: toSchema(errorBody, 'output'), ...schemas },
    },
    paths,
  };
}

function operation(op: ApiOperation, jsonSchema: SchemaWriter) {
  const params = [...(op.path.matchAll(/:([A-Za-z]+)/g) ?? [])].map((m) => ({
    name: m[1]!,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = Object.entries(op.query?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !(schema as z.ZodType).safeParse(undefined).success,
    schema: jsonSchema(schema as z.ZodType, 'input'),
  }));
  const contentType = op.contentType ?? 'application/json';
  const responses: Record<string, unknown> = {
    [String(op.status ?? 200)]: {
      description: op.summary,
      content: { [contentType]: { schema: jsonSchema(op.response, 'output') } },
    },
  };
  for (const status of [401, ...(op.errors ?? [])])
    responses[String(status)] = {
      description: ERROR_TEXT[status],
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  return {
    operationId: operationId(op),
    summary: op.summary,
    parameters: [...params, ...query],
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(op.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

/** `get /sessions/:id/stop` → `getSessionsIdStop`: unique per route, stable across versions. */
function operationId(op: ApiOperation): string {
  const words = op.path.split(/[/:.-]+/).filter(Boolean);
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

type SchemaWriter = (schema: z.ZodType, io: 'input' | 'output') => Record<string, unknown>;

/**
 * zod's JSON Schema of one schema, for a place inside the document. Recursive parts (JSON values) come
 * as local `$defs`; they move to `components.schemas` under a unique name so their `$ref`s resolve.
 */
function schemaWriter(components: Record<string, unknown>): SchemaWriter {
  let next = 0;
  return (schema, io) => {
    const {
      $schema: _,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
    if (!$defs) return rest;
    const names = new Map(Object.keys($defs).map((name) => [name, `Def${next++}`]));
    const rewrite = (value: unknown) =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_, name: string) =>
          JSON.stringify(`#/components/schemas/${names.get(name)}`),
        ),
      ) as Record<string, unknown>;
    for (const [name, def] of Object.entries($defs)) components[names.get(name)!] = rewrite(def);
    return rewrite(rest);
  };
}

// The OpenRPC 1.2 document of the API, built from the zod schemas of methods.ts; `rpc.discover`
// serves it.

import { z } from 'zod';

import { errorReasons } from './errors.js';
import { type MethodSpec, methods } from './methods.js';

type JsonSchema = Record<string, unknown>;

/** A zod schema as a JSON Schema (draft 7, as OpenRPC 1.2 uses), without its `$schema`. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' });
  delete out.$schema;
  return out as JsonSchema;
}

function methodObject(name: string, spec: MethodSpec): JsonSchema {
  const params = jsonSchema(spec.params, 'input');
  const properties = (params.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((params.required ?? []) as string[]);

  return {
    name,
    summary: spec.summary,
    paramStructure: 'by-name',
    params: Object.entries(properties).map(([param, schema]) => ({
      name: param,
      required: required.has(param),
      schema,
    })),
    result: { name: `${name} result`, schema: jsonSchema(spec.result, 'output') },
    errors: spec.errors.map((reason) => ({
      code: errorReasons[reason],
      message: reason,
      data: { type: 'object', properties: { reason: { const: reason } } },
    })),
    ...(spec.sendsFds ? { description: 'The reply carries fds (SCM_RIGHTS).' } : {}),
  };
}

/** The whole document; `version` is the daemon's package version. */
export function buildOpenRpc(version: string): JsonSchema {
  const discover = {
    name: 'rpc.discover',
    summary: 'This OpenRPC document.',
    params: [],
    result: { name: 'OpenRPC document', schema: { type: 'object' } },
  };

  return {
    openrpc: '1.2.6',
    info: {
      title: 'ttycrd',
      version,
      description: 'Checkpoint and restore Linux terminals; fds are passed with SCM_RIGHTS.',
    },
    methods: [...Object.entries(methods).map(([name, spec]) => methodObject(name, spec)), discover],
  };
}

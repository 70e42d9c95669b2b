// rpc.discover's document, validated against the OpenRPC meta-schema with ajv; every method
// of the schema file is in it, with its params and error codes.

import { createRequire } from 'node:module';

import { Ajv } from 'ajv';
import meta from '@open-rpc/meta-schema';
import t from 'tap';

import { errorReasons } from '../rpc-schema/errors.js';
import { methods } from '../rpc-schema/methods.js';
import { buildOpenRpc } from '../rpc-schema/openrpc.js';

const require = createRequire(import.meta.url);

t.test('openrpc [valid against the meta-schema]', async (t) => {
  const document = buildOpenRpc('1.2.3');
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  // A CommonJS module: the schema is its `openrpcDocument` export.
  const metaSchema = (meta as unknown as { openrpcDocument: object }).openrpcDocument;
  t.ok(metaSchema && 'definitions' in metaSchema, 'the meta-schema loaded');
  // The meta-schema takes JSON Schema itself from meta.json-schema.tools, which is not installed:
  // stand in ajv's draft-07 meta-schema for it (our schemas are draft 7).
  const draft7 = require('ajv/dist/refs/json-schema-draft-07.json') as {
    definitions: Record<string, unknown>;
  };
  // It is referred to both with and without the trailing slash, which ajv keeps apart.
  for (const $id of ['https://meta.json-schema.tools', 'https://meta.json-schema.tools/']) {
    ajv.addSchema({
      ...draft7,
      $id,
      definitions: {
        ...draft7.definitions,
        JSONSchemaObject: { properties: { $ref: { type: 'string' } } },
      },
    });
  }
  const validate = ajv.compile(metaSchema);
  const valid = validate(document);
  t.ok(valid, 'the document validates', { errors: validate.errors });

  t.notOk(validate({ ...document, openrpc: 'not a version' }), 'a broken document does not');

  const names = (document.methods as { name: string }[]).map((m) => m.name);
  t.same(names.sort(), [...Object.keys(methods), 'rpc.discover'].sort(), 'every method is listed');

  type Method = { name: string; params: { name: string }[]; errors: { code: number }[] };
  const get = (document.methods as Method[]).find((m) => m.name === 'checkpoint.get')!;
  t.same(
    get.params.map((p: { name: string }) => p.name),
    ['id'],
    'params by name',
  );
  t.same(
    get.errors.map((e: { code: number }) => e.code),
    [errorReasons.NOT_FOUND, errorReasons.IMAGE_CORRUPT],
    'error codes from errors.ts',
  );
});

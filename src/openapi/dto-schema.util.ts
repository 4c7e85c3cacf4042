import { getMetadataStorage } from 'class-validator';

/** A JSON Schema (OpenAPI 3.0 subset) object. */
export type JsonSchema = Record<string, unknown>;

interface Metadata {
  propertyName: string;
  name?: string;
  type: string;
  constraints?: unknown[];
  each?: boolean;
}

/**
 * The OpenAPI schema of a class-validator DTO, read from the same decorators the validation pipe
 * runs, so the document cannot drift from what is enforced. Covers the validators the app's DTOs
 * use; anything else is left out of the schema (it is still enforced).
 */
export function schemaFromDto(dto: new () => unknown): JsonSchema {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(
    dto,
    '',
    true,
    false,
  ) as unknown as Metadata[];
  const properties: Record<string, JsonSchema> = {};
  const optional = new Set<string>();
  const refused = new Set<string>();
  for (const m of metadatas) {
    const schema = (properties[m.propertyName] ??= {});
    const target = m.each ? ((schema.items ??= {}) as JsonSchema) : schema;
    if (m.each) schema.type = 'array';
    const [a, b] = m.constraints ?? [];
    switch (m.type === 'customValidation' ? m.name : (m.name ?? m.type)) {
      case 'isString':
        target.type = 'string';
        break;
      case 'minLength':
        target.minLength = a;
        break;
      case 'maxLength':
        target.maxLength = a;
        break;
      case 'isLength':
        target.type = 'string';
        target.minLength = a;
        if (b !== undefined) target.maxLength = b;
        break;
      case 'matches':
        target.pattern = (a as RegExp).source;
        break;
      case 'isUrl':
        target.type = 'string';
        target.format = 'uri';
        break;
      case 'isIn':
        target.enum = [...(a as unknown[])];
        break;
      case 'isArray':
        schema.type = 'array';
        schema.items ??= {};
        break;
      case 'arrayMinSize':
        schema.minItems = a;
        break;
      case 'arrayMaxSize':
        schema.maxItems = a;
        break;
      case 'isAgentMetadata':
        Object.assign(schema, { type: 'object', minProperties: 1, maxProperties: 50 });
        break;
      case 'notAccepted':
        refused.add(m.propertyName);
        break;
      default:
        if (m.type === 'conditionalValidation') optional.add(m.propertyName);
    }
  }
  for (const name of refused) {
    properties[name] = { description: 'Refused when present (422).', not: {} };
    optional.add(name);
  }
  const required = Object.keys(properties).filter((name) => !optional.has(name));
  return { type: 'object', properties, ...(required.length > 0 && { required }) };
}

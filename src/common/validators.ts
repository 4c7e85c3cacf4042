import { registerDecorator, type ValidationOptions } from 'class-validator';

/**
 * The member must be absent. For fields an old client might still send but that this server
 * must never trust, such as ARCP's body `dpop_jkt`: refusing says so, where ignoring would not.
 */
export function NotAccepted(reason: string, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'notAccepted',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: `$property is not accepted: ${reason}`, ...options },
      validator: { validate: (value: unknown) => value === undefined },
    });
}

const MAX_METADATA_KEYS = 50;
const MAX_METADATA_KEY_LENGTH = 100;
const MAX_METADATA_STRING = 1000;

function isMetadataValue(value: unknown): boolean {
  if (typeof value === 'string') return value.length <= MAX_METADATA_STRING;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'boolean') return true;
  if (Array.isArray(value)) {
    return value.every(
      (item) =>
        (typeof item === 'string' && item.length <= MAX_METADATA_STRING) ||
        (typeof item === 'number' && Number.isFinite(item)) ||
        typeof item === 'boolean',
    );
  }
  return false;
}

/**
 * ARCP's agent `metadata`: a non-empty object of at most 50 keys (each at most 100 characters)
 * whose values are strings (at most 1000 characters), numbers, booleans or flat lists of those.
 */
export function IsAgentMetadata(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAgentMetadata',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message:
          '$property must be a non-empty object of at most 50 keys whose values are strings, ' +
          'numbers, booleans or lists of those',
        ...options,
      },
      validator: {
        validate(value: unknown): boolean {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length > 0 &&
            entries.length <= MAX_METADATA_KEYS &&
            entries.every(
              ([key, item]) => key.length <= MAX_METADATA_KEY_LENGTH && isMetadataValue(item),
            )
          );
        },
      },
    });
}

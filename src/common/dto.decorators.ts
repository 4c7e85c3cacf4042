import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUrl, Matches, MaxLength, MinLength } from 'class-validator';

/** Letters, digits, `_` and `-` (ARCP's identifier alphabet). */
export const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

/** Trims surrounding whitespace from a string member (non-strings are left for the validators). */
export const Trim = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/** A trimmed identifier of `min` to `max` characters from {@link IDENTIFIER}. */
export const IsIdentifier = (min: number, max: number): PropertyDecorator =>
  applyDecorators(
    Trim(),
    IsString(),
    MinLength(min),
    MaxLength(max),
    Matches(IDENTIFIER, { message: '$property may contain only letters, digits, "_" and "-"' }),
  );

/** An absolute http(s) URL of at most 2048 characters (host names such as `localhost` allowed). */
export const IsEndpointUrl = (): PropertyDecorator =>
  applyDecorators(
    Trim(),
    IsString(),
    MaxLength(2048),
    IsUrl(
      { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
      { message: '$property must be an absolute http:// or https:// URL' },
    ),
  );

/** The communication modes ARCP knows. */
export const COMMUNICATION_MODES = ['remote', 'local', 'hybrid'] as const;

/** A `communication_mode`, lower-cased; optional unless `required`. */
export const IsCommunicationMode = (required = false): PropertyDecorator =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? value.trim().toLowerCase() : value,
    ),
    ...(required ? [] : [IsOptional()]),
    IsIn(COMMUNICATION_MODES, {
      message: `$property must be one of ${COMMUNICATION_MODES.join(', ')}`,
    }),
  );

import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { RequestValidationException, type FieldError } from './problem.exception.js';

/** Flattens class-validator's tree into one entry per field path (`capabilities.0`). */
function toFieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const own = error.property && parent ? `${parent}.${error.property}` : error.property;
    const field = own || parent || 'body';
    if (error.constraints) out.push({ field, messages: Object.values(error.constraints) });
    if (error.children?.length) out.push(...toFieldErrors(error.children, field));
  }
  return out;
}

/**
 * The app's one validation pipe: unknown body members are dropped (as ARCP ignores them), a
 * body that is not an object is refused, and every failure becomes a 422 `validation-failed`
 * problem that names each field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new RequestValidationException(toFieldErrors(errors)),
  });
}

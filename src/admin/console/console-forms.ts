import { plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';
import { DomainError } from '../../common/domain-error';
import { refusalOf } from '../../common/error-status';
import type { FieldErrors } from '../../web/components/fields';

export type FormBody = Record<string, unknown>;

/** A single text field of a form post (trimmed), or undefined when absent or blank. Repeated fields are refused. */
export function formText(body: FormBody | undefined, name: string, maxLength = 100_000): string | undefined {
  const value = body?.[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw DomainError.invalid(
      'malformed_form',
      `The form field "${name.slice(0, 40)}" was sent more than once.`,
    );
  }
  if (value.length > maxLength) {
    throw new DomainError(
      'too_large',
      'field_too_large',
      `The form field "${name.slice(0, 40)}" is longer than ${maxLength} characters.`,
    );
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A checkbox rendered with a hidden "false" companion: the last value sent wins. */
export function formFlag(body: FormBody | undefined, name: string): boolean | undefined {
  const value = body?.[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  if (last === 'true' || last === 'on') return true;
  if (last === 'false') return false;
  throw DomainError.invalid(
    'malformed_form',
    `The form field "${name.slice(0, 40)}" must be a checkbox value.`,
  );
}

/** A list typed one per line (commas also separate). */
export function formList(body: FormBody | undefined, name: string): string[] | undefined {
  const text = formText(body, name);
  if (text === undefined) return undefined;
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A JSON field: the parsed value, or the text itself when it is not JSON (validation reports it). */
export function formJson(body: FormBody | undefined, name: string, max = 20_000): unknown {
  const text = formText(body, name, max);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A whole number field, left as text when it is not one (validation reports it on the field). */
export function formInt(body: FormBody | undefined, name: string): number | string | undefined {
  const text = formText(body, name, 20);
  if (text === undefined) return undefined;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

function collect(errors: ValidationError[], out: FieldErrors): void {
  for (const e of errors) {
    if (e.constraints) {
      out[e.property] ??= Object.values(e.constraints).join('; ');
    }
    if (e.children?.length) collect(e.children, out);
  }
}

/**
 * Validates a service DTO built from a form with the same rules as the API (class-validator), and
 * returns the problems by field name (the last segment of nested properties).
 */
export async function validateForm<T extends object>(
  cls: new () => T,
  plain: Record<string, unknown>,
): Promise<{ dto: T; errors: FieldErrors }> {
  const dto = plainToInstance(cls, plain);
  const problems = await validate(dto, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  const errors: FieldErrors = {};
  collect(problems, errors);
  return { dto, errors };
}

/** A service error as a message for the page, attributed to a field when its reason code names one. */
export function serviceError(
  err: unknown,
  fieldByCode: Record<string, string> = {},
  fieldOf: (code: string) => string | undefined = () => undefined,
): { status: number; field?: string; message: string } {
  const refusal = refusalOf(err);
  if (refusal) {
    return {
      status: refusal.status,
      field: fieldByCode[refusal.reason] ?? fieldOf(refusal.reason),
      message: refusal.message,
    };
  }
  throw err;
}

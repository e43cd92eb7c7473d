// A provider's connection fields as a form: the rules, the values it starts with, and the change
// it sends. Secrets are write-only, so they always start empty.
import { z } from "zod/mini";
import type { Field, Integration } from "../../api/types";

/** One string per field, by key. */
export type FieldValues = Record<string, string>;

/** Whether the field must be filled: not when a secret is already saved, nor where an empty field
 * keeps what is saved (`keepsSaved`: the settings of a live connection). */
export function isNeeded(field: Field, integration: Integration, keepsSaved = false): boolean {
  const kept = field.secret && integration.credentials[field.key]?.configured;
  return field.required && !kept && !keepsSaved;
}

/** The server checks patterns too; one JavaScript cannot read is left to it. */
function compile(pattern: string | null | undefined): RegExp | null {
  try {
    return pattern ? new RegExp(pattern) : null;
  } catch {
    return null;
  }
}

/** Every field's rule, so every problem shows at once: filled when needed, and the provider's
 * pattern with the sentence that says what it should look like. */
export function fieldsSchema(fields: Field[], integration: Integration, keepsSaved = false) {
  const rule = (field: Field) => {
    const pattern = compile(field.pattern);
    return z.string().check(
      z.trim(),
      z.refine((value) => value !== "" || !isNeeded(field, integration, keepsSaved), `Fill in ${field.label}.`),
      z.refine((value) => value === "" || !pattern || pattern.test(value), field.help ?? `${field.label} does not look right: check it and try again.`),
    );
  };
  return z.object(Object.fromEntries(fields.map((field) => [field.key, rule(field)])));
}

/** What the form starts with: saved settings (a select's first option when none is), secrets empty. */
export function initialValues(fields: Field[], integration: Integration): FieldValues {
  const start = (field: Field) =>
    field.secret ? "" : (integration.config[field.key] ?? (field.kind === "select" ? field.options?.[0] : undefined) ?? "");
  return Object.fromEntries(fields.map((field) => [field.key, start(field)]));
}

/** The change to send: secrets as credentials, the rest as config; an empty field is left out,
 * so what is saved stays. */
export function toChange(fields: Field[], values: FieldValues) {
  const credentials: Record<string, string> = {};
  const config: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.key] ?? "";
    if (value) (field.secret ? credentials : config)[field.key] = value;
  }
  return { credentials, config };
}

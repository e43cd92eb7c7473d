import type { Field, Integration } from "../../api/types";
import { ApiProblem } from "../../api/client";
import { FormField } from "../../components/FormField";

/** One of a provider's fields; a secret shows only that it is set ("•••• 1234"), never its value. */
export function FieldInput({ field, integration, error }: { field: Field; integration: Integration; error: unknown }) {
  const fieldError =
    error instanceof ApiProblem
      ? (error.fieldMessage(field.key) ??
        error.fieldMessage(`credentials.${field.key}`) ??
        error.fieldMessage(`config.${field.key}`))
      : undefined;
  const stored = integration.credentials[field.key];
  if (field.kind === "select") {
    return (
      <div className="field">
        <label htmlFor={`f-${field.key}`}>{field.label}</label>
        <select id={`f-${field.key}`} name={field.key} defaultValue={integration.config[field.key] ?? field.options?.[0]}>
          {(field.options ?? []).map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      </div>
    );
  }
  const hint = field.secret && stored?.configured ? `Saved: •••• ${stored.last4 ?? ""}. Leave empty to keep it.` : (field.help ?? undefined);
  return (
    <FormField
      label={field.label}
      name={field.key}
      type={field.secret ? "password" : field.kind === "url" ? "url" : "text"}
      autoComplete="off"
      placeholder={field.placeholder ?? undefined}
      defaultValue={field.secret ? undefined : integration.config[field.key]}
      required={field.required}
      hint={hint}
      error={fieldError}
    />
  );
}

/** Splits a form into credentials (secrets) and config; checks required fields and patterns. */
export function readFields(fields: Field[], form: FormData, integration: Integration) {
  const credentials: Record<string, string> = {};
  const config: Record<string, string> = {};
  for (const field of fields) {
    const value = String(form.get(field.key) ?? "").trim();
    const kept = field.secret && integration.credentials[field.key]?.configured;
    if (!value) {
      if (field.required && !kept) return { credentials, config, problem: `Fill in ${field.label}.` };
      continue;
    }
    if (field.pattern && !matches(field.pattern, value)) {
      return { credentials, config, problem: field.help ?? `${field.label} does not look right: check it and try again.` };
    }
    (field.secret ? credentials : config)[field.key] = value;
  }
  return { credentials, config, problem: null };
}

/** The server checks patterns too; one JavaScript cannot read is left to it. */
function matches(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return true;
  }
}

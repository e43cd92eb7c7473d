// What the forms share: the common field rules, and a refused save shown on the form itself (the
// 422's `errors: [{field, message}]` under the fields they name, anything else as the form's own
// sentence). Rules use zod/mini: the forms' chunk is a quarter of its size with full zod.
import type { FieldValues, Path, UseFormSetError } from "react-hook-form";
import { z } from "zod/mini";
import { ApiProblem, errorSentence } from "./api/client";
import type { Problem } from "./api/types";

/** Text without its surrounding spaces, `min` to `max` characters; one sentence for both ends. */
export function text(min: number, max: number, message: string) {
  return z.string().check(z.trim(), z.minLength(min, message), z.maxLength(max, message));
}

/** An e-mail address, surrounding spaces dropped. */
export function email(message = "Enter a valid e-mail address.") {
  return z.pipe(z.string().check(z.trim()), z.email(message));
}

/** Empty, or a value `accepts` takes; surrounding spaces dropped. */
export function emptyOr(accepts: (value: string) => boolean, message: string) {
  return z.string().check(z.trim(), z.refine((value) => value === "" || accepts(value), message));
}

type FieldProblem = NonNullable<Problem["errors"]>[number];

/** A server path in the form's terms: `data.website` → `website`, `credentials.api_key` →
 * `api_key`, `data.invitations[0].email` → `invitations.0.email`. */
export function formPath(field: string): string {
  return field.replace(/^(data|credentials|config)\./, "").replace(/\[(\d+)\]/g, ".$1");
}

/** Sorts field problems onto the form's fields. A path deeper than any field lands on the
 * nearest one that holds it (`domains.1` → `domains`); several on one field are joined. */
export function placeProblems(problems: FieldProblem[], names: readonly string[], rename: (path: string) => string = (p) => p) {
  const placed = new Map<string, string>();
  const rest: string[] = [];
  for (const { field, message } of problems) {
    let path = rename(formPath(field));
    while (path && !names.includes(path)) path = path.slice(0, Math.max(path.lastIndexOf("."), 0));
    if (path) placed.set(path, placed.has(path) ? `${placed.get(path)} ${message}` : message);
    else rest.push(message);
  }
  return { placed, rest };
}

/** Shows a failed save: each named field's problem under it (the first one focused), and as the
 * form's `root.server` error what no field holds, or the problem's sentence when none was named. */
export function showProblem<T extends FieldValues>(
  setError: UseFormSetError<T>,
  error: unknown,
  names: readonly string[],
  rename?: (path: string) => string,
) {
  const { placed, rest } = placeProblems(error instanceof ApiProblem ? error.fields : [], names, rename);
  [...placed].forEach(([name, message], n) => setError(name as Path<T>, { type: "server", message }, { shouldFocus: n === 0 }));
  const sentence = rest.length > 0 ? rest.join(" ") : placed.size === 0 ? errorSentence(error) : null;
  if (sentence) setError("root.server", { type: "server", message: sentence });
}

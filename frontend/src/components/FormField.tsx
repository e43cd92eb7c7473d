import { useId, type ComponentPropsWithRef, type ReactNode } from "react";

interface Described {
  label: string;
  error?: string;
  hint?: string;
}

/** Ids that tie a field's hint and error to it, and the attributes that say so. */
function useDescribed({ error, hint }: Omit<Described, "label">) {
  const id = useId();
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  return { id, control: { id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy } };
}

function Notes({ id, error, hint }: Omit<Described, "label"> & { id: string }) {
  return (
    <>
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </>
  );
}

/** A labelled input whose hint and error are tied to it for screen readers. */
export function FormField({ label, error, hint, ...input }: Described & ComponentPropsWithRef<"input">) {
  const { id, control } = useDescribed({ error, hint });
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input {...control} {...input} />
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

/** A labelled select, wired like FormField. */
export function SelectField({ label, error, hint, children, ...select }: Described & ComponentPropsWithRef<"select"> & { children: ReactNode }) {
  const { id, control } = useDescribed({ error, hint });
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select {...control} {...select}>
        {children}
      </select>
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

/** A labelled text area, wired like FormField. */
export function TextAreaField({ label, error, hint, ...area }: Described & ComponentPropsWithRef<"textarea">) {
  const { id, control } = useDescribed({ error, hint });
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea {...control} {...area} />
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error-note">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

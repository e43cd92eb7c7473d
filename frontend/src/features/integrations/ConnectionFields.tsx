import { zodResolver } from "@hookform/resolvers/zod";
import { useMemo } from "react";
import { useForm, type UseFormReturn } from "react-hook-form";
import type { Field, Integration } from "../../api/types";
import { FormField, SelectField } from "../../components/FormField";
import { fieldsSchema, initialValues, isNeeded, type FieldValues } from "./fields";

/** The form for a provider's fields, checked as a whole on submit. */
export function useFieldsForm(fields: Field[], integration: Integration, keepsSaved = false) {
  const schema = useMemo(() => fieldsSchema(fields, integration, keepsSaved), [fields, integration, keepsSaved]);
  return useForm<FieldValues>({ resolver: zodResolver(schema), defaultValues: initialValues(fields, integration) });
}

interface Props {
  form: UseFormReturn<FieldValues>;
  fields: Field[];
  integration: Integration;
  keepsSaved?: boolean;
}

/** Each field labelled, with its problem under it; a secret shows only that it is set ("•••• 1234"). */
export function ConnectionFields({ form, fields, integration, keepsSaved = false }: Props) {
  const errors = form.formState.errors;
  return fields.map((field) => {
    const error = errors[field.key]?.message;
    if (field.kind === "select") {
      return (
        <SelectField key={field.key} label={field.label} error={error} {...form.register(field.key)}>
          {(field.options ?? []).map((option) => (
            <option key={option}>{option}</option>
          ))}
        </SelectField>
      );
    }
    const saved = integration.credentials[field.key];
    const hint = field.secret && saved?.configured ? `Saved: •••• ${saved.last4 ?? ""}. Leave empty to keep it.` : (field.help ?? undefined);
    return (
      <FormField
        key={field.key}
        label={field.label}
        type={field.secret ? "password" : field.kind === "url" ? "url" : "text"}
        autoComplete="off"
        placeholder={field.placeholder ?? undefined}
        required={isNeeded(field, integration, keepsSaved)}
        hint={hint}
        error={error}
        {...form.register(field.key)}
      />
    );
  });
}

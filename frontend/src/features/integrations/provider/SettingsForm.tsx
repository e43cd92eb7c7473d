import type { Field, Integration } from "../../../api/types";
import { ErrorNote } from "../../../components/FormField";
import { Spinner } from "../../../components/Spinner";
import { useToast } from "../../../components/Toasts";
import { showProblem } from "../../../forms";
import { ConnectionFields, useFieldsForm } from "../ConnectionFields";
import { initialValues, toChange } from "../fields";
import { usePatchIntegration } from "../queries";

interface Props {
  orgId: string;
  integration: Integration;
  fields: Field[];
  /** An empty field keeps what is saved (a live connection). */
  keepsSaved: boolean;
}

/** Saves new settings; once saved the form starts again from what the server kept, so a typed
 * secret never stays in its field. */
export function SettingsForm({ orgId, integration: i, fields, keepsSaved }: Props) {
  const patch = usePatchIntegration(orgId);
  const toast = useToast();
  const form = useFieldsForm(fields, i, keepsSaved);

  const save = form.handleSubmit(async (values) => {
    try {
      const saved = await patch.mutateAsync({ provider: i.provider, ...toChange(fields, values) });
      toast(`${i.name}: settings saved.`, "success");
      form.reset(initialValues(fields, saved));
    } catch (error) {
      showProblem(form.setError, error, fields.map((f) => f.key));
    }
  });

  return (
    <form onSubmit={save} className="stack" noValidate>
      <ConnectionFields form={form} fields={fields} integration={i} keepsSaved={keepsSaved} />
      <ErrorNote error={form.formState.errors.root?.server?.message} />
      <button type="submit" className="btn btn-primary" disabled={patch.isPending}>
        {patch.isPending ? <Spinner label="Checking with the provider…" /> : "Save"}
      </button>
    </form>
  );
}

import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod/mini";
import { errorSentence } from "../../api/client";
import type { ApiKeyCreated, ApiKeyIn } from "../../api/types";
import { ErrorNote, FormField } from "../../components/FormField";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { showProblem, text } from "../../forms";
import { useOrgId, useSession } from "../../session";
import { dateTime, relativeTime } from "../../time";
import { useApiKeys, useCreateApiKey, useRevokeApiKey } from "./queries";

export const KEY_SCOPES: ApiKeyIn["scopes"] = [
  "integrations:read",
  "integrations:write",
  "members:read",
  "proxy:read",
  "proxy:write",
];

export default function ApiKeys() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const toast = useToast();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const keys = useApiKeys(orgId);
  const revoke = useRevokeApiKey(orgId);

  return (
    <div>
      <h1>API keys</h1>
      <p className="muted">
        Keys let your own systems call Plugboard's partner API. See the <a href="/api/docs/">API reference</a>.
      </p>
      {isAdmin && <CreateKeyForm orgId={orgId} onCreated={setCreated} />}
      <section className="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        {keys.isPending && <Spinner label="Loading…" />}
        <ErrorNote error={keys.error} />
        {keys.data && keys.data.data.length === 0 && <p className="muted">No keys yet.</p>}
        {keys.data && keys.data.data.length > 0 && (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>{dateTime(k.created_at)}</td>
                  <td>{k.last_used_at ? relativeTime(k.last_used_at) : "Never"}</td>
                  <td>
                    {k.revoked_at ? (
                      "Revoked"
                    ) : isAdmin ? (
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRevoking(k.id)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </button>
                    ) : (
                      "Active"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Modal
        open={created !== null}
        onOpenChange={(open) => !open && setCreated(null)}
        title="Your new API key"
        description="Copy it now: this is the only time it is shown."
      >
        <div className="stack">
          <code className="secret-box">{created?.secret}</code>
          <div className="actions">
            <button
              type="button"
              className="btn btn-primary"
              onClick={() =>
                navigator.clipboard
                  ?.writeText(created?.secret ?? "")
                  .then(() => toast("Copied to the clipboard.", "success"))
                  .catch(() => toast("Copying did not work: select the key and copy it.", "error"))
              }
            >
              Copy key
            </button>
            <button type="button" className="btn" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      </Modal>
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title="Revoke this key?"
        description="Calls made with it stop working at once. This cannot be undone."
        confirmLabel="Revoke"
        busy={revoke.isPending}
        onConfirm={() =>
          revoking &&
          revoke.mutate(revoking, {
            onSuccess: () => {
              setRevoking(null);
              toast("The key is revoked.", "success");
            },
            onError: (e) => toast("The key was not revoked.", "error", errorSentence(e)),
          })
        }
      />
    </div>
  );
}

const keySchema = z.object({
  name: text(1, 100, "Name the key (1 to 100 characters) so you can tell it apart later."),
  scopes: z.array(z.enum(KEY_SCOPES)).check(z.minLength(1, "Choose at least one scope.")),
}) satisfies z.ZodMiniType<ApiKeyIn>;

/** Creates a key; the form empties once it is made, and the key (shown once) is handed up. */
function CreateKeyForm({ orgId, onCreated }: { orgId: string; onCreated: (key: ApiKeyCreated) => void }) {
  const create = useCreateApiKey(orgId);
  const form = useForm({ resolver: zodResolver(keySchema), defaultValues: { name: "", scopes: ["integrations:read"] as ApiKeyIn["scopes"] } });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (key) => {
    try {
      onCreated(await create.mutateAsync(key));
      form.reset();
    } catch (error) {
      showProblem(form.setError, error, ["name", "scopes"]);
    }
  });
  return (
    <form className="card stack" onSubmit={submit} noValidate>
      <h2>Create a key</h2>
      <FormField label="Key name" required placeholder="Warehouse sync" error={errors.name?.message} {...form.register("name")} />
      <fieldset aria-describedby={errors.scopes ? "scopes-error" : undefined}>
        <legend>Scopes</legend>
        <div className="scope-grid">
          {KEY_SCOPES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" value={s} {...form.register("scopes")} /> <code>{s}</code>
            </label>
          ))}
        </div>
        {errors.scopes && (
          <p id="scopes-error" className="field-error">
            {errors.scopes.message}
          </p>
        )}
      </fieldset>
      <ErrorNote error={errors.root?.server?.message} />
      <div className="actions">
        <button className="btn btn-primary" type="submit" disabled={create.isPending}>
          {create.isPending ? <Spinner label="Creating…" /> : "Create key"}
        </button>
      </div>
    </form>
  );
}

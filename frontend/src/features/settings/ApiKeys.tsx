import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorSentence, unwrap } from "../../api/client";
import type { ApiKeyCreated, ApiKeyIn } from "../../api/types";
import { ErrorNote, FormField } from "../../components/FormField";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { useOrgId, useSession } from "../../session";
import { dateTime, relativeTime } from "../../time";

export const KEY_SCOPES: ApiKeyIn["scopes"] = ["integrations:read", "integrations:write", "members:read"];

export default function ApiKeys() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const keys = useQuery({
    queryKey: ["api-keys", orgId],
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/api-keys", { params: { path: { org_id: orgId } } })),
  });
  const create = useMutation({
    mutationFn: (body: ApiKeyIn) =>
      unwrap(api.POST("/api/v1/orgs/{org_id}/api-keys", { params: { path: { org_id: orgId } }, body })),
    onSuccess: (key) => {
      setCreated(key);
      queryClient.invalidateQueries({ queryKey: ["api-keys", orgId] });
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/api-keys/{key_id}", { params: { path: { org_id: orgId, key_id: keyId } } })),
    onSuccess: () => {
      setRevoking(null);
      toast("The key is revoked.", "success");
      queryClient.invalidateQueries({ queryKey: ["api-keys", orgId] });
    },
    onError: (e) => toast("The key was not revoked.", "error", errorSentence(e)),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ name: String(form.get("name") ?? "").trim(), scopes: KEY_SCOPES.filter((s) => form.getAll("scopes").includes(s)) });
  }

  return (
    <div>
      <h1>API keys</h1>
      <p className="muted">
        Keys let your own systems call Plugboard's partner API. See the <a href="/api/docs/">API reference</a>.
      </p>
      {isAdmin && (
        <form className="card stack" onSubmit={submit} noValidate>
          <h2>Create a key</h2>
          <FormField label="Key name" name="name" required placeholder="Warehouse sync" />
          <fieldset>
            <legend>Scopes</legend>
            <div className="scope-grid">
              {KEY_SCOPES.map((s) => (
                <label key={s} className="check">
                  <input type="checkbox" name="scopes" value={s} defaultChecked={s === "integrations:read"} /> <code>{s}</code>
                </label>
              ))}
            </div>
          </fieldset>
          <ErrorNote error={create.error} />
          <div className="actions">
            <button className="btn btn-primary" type="submit" disabled={create.isPending}>
              {create.isPending ? <Spinner label="Creating…" /> : "Create key"}
            </button>
          </div>
        </form>
      )}
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
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </div>
  );
}

import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorSentence, unwrap } from "../../api/client";
import type { InvitationIn, RoleIn } from "../../api/types";
import { ErrorNote, FormField } from "../../components/FormField";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { useOrgId, useSession } from "../../session";
import { dateTime } from "../../time";

const ROLES: RoleIn[] = ["owner", "admin", "member"];

export default function Members() {
  const orgId = useOrgId();
  const { isAdmin, me } = useSession();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [link, setLink] = useState<string | null>(null);
  const [removing, setRemoving] = useState<{ id: string; name: string } | null>(null);
  const path = { params: { path: { org_id: orgId } } };
  const members = useQuery({ queryKey: ["members", orgId], queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/members", path)) });
  const invitations = useQuery({
    queryKey: ["invitations", orgId],
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/invitations", path)),
    enabled: isAdmin,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["members", orgId] }).then(() => queryClient.invalidateQueries({ queryKey: ["invitations", orgId] }));
  const invite = useMutation({
    mutationFn: (body: InvitationIn) => unwrap(api.POST("/api/v1/orgs/{org_id}/invitations", { ...path, body })),
    onSuccess: (created) => {
      setLink(`${window.location.origin}/invitations/${created.token}`);
      refresh();
    },
  });
  const changeRole = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: RoleIn }) =>
      unwrap(api.PATCH("/api/v1/orgs/{org_id}/members/{user_id}", { params: { path: { org_id: orgId, user_id: userId } }, body: { role } })),
    onSuccess: () => refresh(),
    onError: (e) => toast("The role did not change.", "error", errorSentence(e)),
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/members/{user_id}", { params: { path: { org_id: orgId, user_id: userId } } })),
    onSuccess: () => {
      setRemoving(null);
      refresh();
    },
    onError: (e) => toast("The member was not removed.", "error", errorSentence(e)),
  });
  const revoke = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/orgs/{org_id}/invitations/{invitation_id}", { params: { path: { org_id: orgId, invitation_id: id } } })),
    onSuccess: () => refresh(),
    onError: (e) => toast("The invitation was not revoked.", "error", errorSentence(e)),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    invite.mutate({ email: String(form.get("email") ?? "").trim(), role: form.get("role") === "admin" ? "admin" : "member" });
  }

  return (
    <div>
      <h1>Members and invitations</h1>
      <section className="card" aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        {members.isPending && <Spinner label="Loading…" />}
        <ErrorNote error={members.error} />
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">E-mail</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              {isAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(members.data?.data ?? []).map((m) => (
              <tr key={m.user_id}>
                <td>{m.name}</td>
                <td>{m.email}</td>
                <td>
                  {isAdmin && m.user_id !== me?.user.id ? (
                    <select
                      aria-label={`Role of ${m.name}`}
                      value={m.role}
                      onChange={(e) => changeRole.mutate({ userId: m.user_id, role: e.target.value as RoleIn })}
                    >
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>{dateTime(m.joined_at)}</td>
                {isAdmin && (
                  <td>
                    {m.user_id !== me?.user.id && (
                      <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving({ id: m.user_id, name: m.name })}>
                        Remove
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {isAdmin && (
        <section className="card" aria-labelledby="invite-title">
          <h2 id="invite-title">Invite someone</h2>
          <form onSubmit={submit} className="inline-row" noValidate>
            <FormField label="E-mail" name="email" type="email" required />
            <div className="field">
              <label htmlFor="invite-role">Role</label>
              <select id="invite-role" name="role" defaultValue="member">
                <option value="member">Member</option>
                <option value="admin">Admin</option>
              </select>
            </div>
            <button type="submit" className="btn btn-primary" disabled={invite.isPending}>
              {invite.isPending ? <Spinner label="Inviting…" /> : "Send invitation"}
            </button>
          </form>
          <ErrorNote error={invite.error} />
          <h3 className="h3">Pending and past invitations</h3>
          {(invitations.data?.data ?? []).length === 0 ? (
            <p className="muted">No invitations yet.</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {(invitations.data?.data ?? []).map((inv) => (
                  <tr key={inv.id}>
                    <td>{inv.email}</td>
                    <td>{inv.role}</td>
                    <td>{inv.status}</td>
                    <td>{dateTime(inv.expires_at)}</td>
                    <td>
                      {inv.status === "pending" && (
                        <button type="button" className="btn btn-small" onClick={() => revoke.mutate(inv.id)} aria-label={`Revoke the invitation for ${inv.email}`}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      <Modal open={link !== null} onOpenChange={(open) => !open && setLink(null)} title="Invitation link" description="Send this link to the person you invited. It is shown only this once.">
        <div className="stack">
          <code className="secret-box" data-testid="invitation-link">{link}</code>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => navigator.clipboard?.writeText(link ?? "").then(() => toast("Copied.", "success"))}>
              Copy link
            </button>
            <button type="button" className="btn" onClick={() => setLink(null)}>
              Done
            </button>
          </div>
        </div>
      </Modal>
      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(open) => !open && setRemoving(null)}
        title={`Remove ${removing?.name ?? ""}?`}
        description="They lose access to this organization at once."
        confirmLabel="Remove"
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing.id)}
      />
    </div>
  );
}

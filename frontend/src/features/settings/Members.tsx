import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod/mini";
import { errorSentence } from "../../api/client";
import type { InvitationIn, RoleIn } from "../../api/types";
import { ErrorNote, FormField, SelectField } from "../../components/FormField";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { email, showProblem } from "../../forms";
import { useOrgId, useSession } from "../../session";
import { dateTime } from "../../time";
import { useChangeRole, useInvitations, useInvite, useMembers, useRemoveMember, useRevokeInvitation } from "./queries";

const ROLES: RoleIn[] = ["owner", "admin", "member"];

export default function Members() {
  const orgId = useOrgId();
  const { isAdmin, me } = useSession();
  const toast = useToast();
  const [link, setLink] = useState<string | null>(null);
  const [removing, setRemoving] = useState<{ id: string; name: string } | null>(null);
  const members = useMembers(orgId);
  const invitations = useInvitations(orgId, isAdmin);
  const changeRole = useChangeRole(orgId);
  const remove = useRemoveMember(orgId);
  const revoke = useRevokeInvitation(orgId);

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
                      onChange={(e) =>
                        changeRole.mutate(
                          { userId: m.user_id, role: e.target.value as RoleIn },
                          { onError: (error) => toast("The role did not change.", "error", errorSentence(error)) },
                        )
                      }
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
          <InviteForm orgId={orgId} onInvited={setLink} />
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
                        <button type="button" className="btn btn-small" onClick={() =>
                            revoke.mutate(inv.id, { onError: (e) => toast("The invitation was not revoked.", "error", errorSentence(e)) })
                          } aria-label={`Revoke the invitation for ${inv.email}`}>
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
        onConfirm={() =>
          removing &&
          remove.mutate(removing.id, {
            onSuccess: () => setRemoving(null),
            onError: (e) => toast("The member was not removed.", "error", errorSentence(e)),
          })
        }
      />
    </div>
  );
}

const inviteSchema = z.object({
  email: email(),
  role: z.enum(["member", "admin"]),
}) satisfies z.ZodMiniType<InvitationIn>;

/** Invites one person; the form empties once the invitation is made, and its one-time link is handed up. */
function InviteForm({ orgId, onInvited }: { orgId: string; onInvited: (link: string) => void }) {
  const invite = useInvite(orgId);
  const form = useForm({ resolver: zodResolver(inviteSchema), defaultValues: { email: "", role: "member" as const } });
  const { errors } = form.formState;
  const submit = form.handleSubmit(async (invitation) => {
    try {
      const created = await invite.mutateAsync(invitation);
      onInvited(`${window.location.origin}/invitations/${created.token}`);
      form.reset();
    } catch (error) {
      showProblem(form.setError, error, ["email", "role"]);
    }
  });
  return (
    <>
      <form onSubmit={submit} className="inline-row" noValidate>
        <FormField label="E-mail" type="email" required error={errors.email?.message} {...form.register("email")} />
        <SelectField label="Role" error={errors.role?.message} {...form.register("role")}>
          <option value="member">Member</option>
          <option value="admin">Admin</option>
        </SelectField>
        <button type="submit" className="btn btn-primary" disabled={invite.isPending}>
          {invite.isPending ? <Spinner label="Inviting…" /> : "Send invitation"}
        </button>
      </form>
      <ErrorNote error={errors.root?.server?.message} />
    </>
  );
}

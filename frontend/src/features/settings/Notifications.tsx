import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorSentence, unwrap } from "../../api/client";
import { ErrorNote, FormField } from "../../components/FormField";
import { Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { useOrgId, useSession } from "../../session";
import { dateTime, relativeTime } from "../../time";

/** Where Plugboard says that a connection broke or recovered: a signed webhook, Slack, e-mail. */
export default function Notifications() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [secret, setSecret] = useState<string | null>(null);
  const path = { params: { path: { org_id: orgId } } };
  const settings = useQuery({
    queryKey: ["notification-settings", orgId],
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/notification-settings", path)),
  });
  const sent = useQuery({
    queryKey: ["notifications", orgId],
    queryFn: () => unwrap(api.GET("/api/v1/orgs/{org_id}/notifications", path)),
  });
  const save = useMutation({
    mutationFn: (body: { webhook_url?: string | null; slack_webhook_url?: string | null; email_recipients: string[] }) =>
      unwrap(api.PUT("/api/v1/orgs/{org_id}/notification-settings", { ...path, body })),
    onSuccess: (saved) => {
      toast("Notification settings saved.", "success");
      if (saved.webhook_secret) setSecret(saved.webhook_secret);
      queryClient.invalidateQueries({ queryKey: ["notification-settings", orgId] });
    },
  });
  const test = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/orgs/{org_id}/notification-settings/test", path)),
    onSuccess: () => {
      toast("A test notification is on its way to every channel.", "success");
      queryClient.invalidateQueries({ queryKey: ["notifications", orgId] });
    },
    onError: (e) => toast("The test was not sent.", "error", errorSentence(e)),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    const webhook = text("webhook_url");
    const slack = text("slack_webhook_url");
    save.mutate({
      // An unchanged webhook URL is not sent again, so its signing secret stays.
      ...(webhook !== (settings.data?.webhook_url ?? "") ? { webhook_url: webhook || null } : {}),
      // The Slack URL is write-only: empty keeps the saved one.
      ...(slack ? { slack_webhook_url: slack } : {}),
      email_recipients: text("email_recipients")
        .split(/[\s,]+/)
        .filter(Boolean),
    });
  }

  const current = settings.data;
  return (
    <div>
      <h1>Notifications</h1>
      <p className="muted">
        Plugboard tells you once when a connection needs attention (expired or failing) and once when it works again.
      </p>
      {settings.isPending && <Spinner label="Loading…" />}
      <ErrorNote error={settings.error} />
      {current && (
        <form className="card stack" onSubmit={submit} noValidate>
          <h2>Channels</h2>
          {current.webhook_disabled && (
            <p role="alert" className="error-note">
              The webhook is off since {dateTime(current.webhook_disabled.at)}: {current.webhook_disabled.reason} Save a URL to turn it
              on again.
            </p>
          )}
          <FormField
            label="Webhook URL"
            name="webhook_url"
            type="url"
            defaultValue={current.webhook_url ?? ""}
            placeholder="https://example.com/hooks/plugboard"
            hint="Signed with Standard Webhooks headers. A new URL gets a new signing secret, shown once."
            disabled={!isAdmin}
          />
          <FormField
            label="Slack incoming webhook URL"
            name="slack_webhook_url"
            type="url"
            placeholder={current.slack_webhook_configured ? "•••• saved — enter a new one to replace it" : "https://hooks.slack.com/services/…"}
            hint="Write-only: it is a credential and is never shown back."
            disabled={!isAdmin}
          />
          <FormField
            label="E-mail recipients"
            name="email_recipients"
            defaultValue={current.email_recipients.join(", ")}
            placeholder="ops@example.com, owner@example.com"
            hint="Separate addresses with commas."
            disabled={!isAdmin}
          />
          <ErrorNote error={save.error} />
          {isAdmin && (
            <div className="actions">
              <button className="btn btn-primary" type="submit" disabled={save.isPending}>
                {save.isPending ? <Spinner label="Saving…" /> : "Save"}
              </button>
              <button className="btn" type="button" disabled={test.isPending} onClick={() => test.mutate()}>
                {test.isPending ? <Spinner label="Sending…" /> : "Send a test notification"}
              </button>
            </div>
          )}
        </form>
      )}
      <section className="card" aria-labelledby="sent-title">
        <h2 id="sent-title">Recent notifications</h2>
        {sent.isPending && <Spinner label="Loading…" />}
        <ErrorNote error={sent.error} />
        {sent.data && sent.data.data.length === 0 && <p className="muted">Nothing sent yet.</p>}
        {sent.data && sent.data.data.length > 0 && (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Integration</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {sent.data.data.map((n) => (
                <tr key={n.id}>
                  <td>{relativeTime(n.created_at)}</td>
                  <td>{n.kind}</td>
                  <td>{n.provider ?? "—"}</td>
                  <td>{n.channel}</td>
                  <td>
                    {n.status}
                    {n.last_error && <span className="muted small"> — {n.last_error}</span>}
                  </td>
                  <td>{n.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Modal
        open={secret !== null}
        onOpenChange={(open) => !open && setSecret(null)}
        title="Your webhook signing secret"
        description="Copy it now: this is the only time it is shown. Verify each delivery's webhook-signature with it."
      >
        <div className="stack">
          <code className="secret-box">{secret}</code>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </div>
      </Modal>
    </div>
  );
}

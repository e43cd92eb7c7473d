import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { Link } from "react-router";
import { useForm } from "react-hook-form";
import { z } from "zod/mini";
import { errorSentence } from "../../api/client";
import type { components } from "../../api/schema";
import { ErrorNote, FormField } from "../../components/FormField";
import { Modal } from "../../components/Modal";
import { Spinner } from "../../components/Spinner";
import { useToast } from "../../components/Toasts";
import { emptyOr, showProblem } from "../../forms";
import { useOrgId, useSession } from "../../session";
import { dateTime, relativeTime } from "../../time";
import { useNotifications, useNotificationSettings, useSaveNotificationSettings, useSendTestNotification } from "./queries";

type Settings = components["schemas"]["NotificationSettingsOut"];
type SlackNotice = components["schemas"]["SlackAppNotice"];

/** What may be posted through the Slack app, in the order the page lists it. */
const SLACK_NOTICES: { value: SlackNotice; label: string }[] = [
  { value: "broken", label: "A connection needs attention" },
  { value: "recovered", label: "A connection works again" },
  { value: "privacy_request", label: "A privacy request to answer" },
  { value: "test", label: "Test notifications" },
];

/** Where Plugboard says that a connection broke or recovered: a signed webhook, Slack, e-mail. */
export default function Notifications() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const [secret, setSecret] = useState<string | null>(null);
  const settings = useNotificationSettings(orgId);
  const sent = useNotifications(orgId);

  const current = settings.data;
  return (
    <div>
      <h1>Notifications</h1>
      <p className="muted">
        Plugboard tells you once when a connection needs attention (expired or failing) and once when it works again.
      </p>
      {settings.isPending && <Spinner label="Loading…" />}
      <ErrorNote error={settings.error} />
      {current && <ChannelsForm orgId={orgId} current={current} isAdmin={isAdmin} onSecret={setSecret} />}
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

const isUrl = (value: string) => URL.canParse(value);

// The server checks each address, and that e-mail can be sent at all.
const channelsSchema = z.object({
  webhook_url: emptyOr(isUrl, "Enter a full URL, such as https://example.com/hooks/plugboard."),
  slack_webhook_url: emptyOr(isUrl, "Enter a full URL, such as https://hooks.slack.com/services/…"),
  email_recipients: z.string().check(z.trim()),
  slack_app_notices: z.array(z.enum(SLACK_NOTICES.map((n) => n.value))),
});

type Channels = z.infer<typeof channelsSchema>;

/** What the form shows: the saved settings, and never the write-only Slack URL. */
function shown(settings: Settings): Channels {
  return {
    webhook_url: settings.webhook_url ?? "",
    slack_webhook_url: "",
    email_recipients: settings.email_recipients.join(", "),
    slack_app_notices: settings.slack_app_notices,
  };
}

interface ChannelsProps {
  orgId: string;
  current: Settings;
  isAdmin: boolean;
  onSecret: (secret: string) => void;
}

function ChannelsForm({ orgId, current, isAdmin, onSecret }: ChannelsProps) {
  const toast = useToast();
  const save = useSaveNotificationSettings(orgId);
  const test = useSendTestNotification(orgId);
  const form = useForm({ resolver: zodResolver(channelsSchema), defaultValues: shown(current) });
  const { errors } = form.formState;

  const submit = form.handleSubmit(async ({ webhook_url, slack_webhook_url, email_recipients, slack_app_notices }) => {
    try {
      const saved = await save.mutateAsync({
        // An unchanged webhook URL is not sent again, so its signing secret stays.
        ...(webhook_url !== (current.webhook_url ?? "") ? { webhook_url: webhook_url || null } : {}),
        // The Slack URL is write-only: empty keeps the saved one.
        ...(slack_webhook_url ? { slack_webhook_url } : {}),
        email_recipients: email_recipients.split(/[\s,]+/).filter(Boolean),
        // Without a Slack channel the choice cannot change, and sending it would be refused.
        ...(current.slack_app_channel ? { slack_app_notices } : {}),
      });
      toast("Notification settings saved.", "success");
      if (saved.webhook_secret) onSecret(saved.webhook_secret);
      form.reset(shown(saved));
    } catch (error) {
      showProblem(form.setError, error, ["webhook_url", "slack_webhook_url", "email_recipients", "slack_app_notices"]);
    }
  });

  return (
    <form className="card stack" onSubmit={submit} noValidate>
      <h2>Channels</h2>
      {current.webhook_disabled && (
        <p role="alert" className="error-note">
          The webhook is off since {dateTime(current.webhook_disabled.at)}: {current.webhook_disabled.reason} Save a URL to turn it on
          again.
        </p>
      )}
      <FormField
        label="Webhook URL"
        type="url"
        placeholder="https://example.com/hooks/plugboard"
        hint="Signed with Standard Webhooks headers. A new URL gets a new signing secret, shown once."
        disabled={!isAdmin}
        error={errors.webhook_url?.message}
        {...form.register("webhook_url")}
      />
      <FormField
        label="Slack incoming webhook URL"
        type="url"
        placeholder={current.slack_webhook_configured ? "•••• saved — enter a new one to replace it" : "https://hooks.slack.com/services/…"}
        hint="Write-only: it is a credential and is never shown back."
        disabled={!isAdmin}
        error={errors.slack_webhook_url?.message}
        {...form.register("slack_webhook_url")}
      />
      <FormField
        label="E-mail recipients"
        placeholder="ops@example.com, owner@example.com"
        hint="Separate addresses with commas."
        disabled={!isAdmin}
        error={errors.email_recipients?.message}
        {...form.register("email_recipients")}
      />
      <fieldset aria-describedby="slack-app-note">
        <legend>Post in Slack through the Slack app</legend>
        <p id="slack-app-note" className="muted small">
          {current.slack_app_channel ? (
            <>
              Posted with your Slack connection in channel <code>{current.slack_app_channel}</code>; change the channel on{" "}
              <Link to="/settings/integrations/slack">Slack's page</Link>.
            </>
          ) : (
            <>
              Connect Slack and choose its channel on <Link to="/settings/integrations/slack">Slack's page</Link> to post notices there.
            </>
          )}
        </p>
        <div className="scope-grid">
          {SLACK_NOTICES.map((n) => (
            <label key={n.value} className="check">
              <input
                type="checkbox"
                value={n.value}
                disabled={!isAdmin || !current.slack_app_channel}
                {...form.register("slack_app_notices")}
              />{" "}
              {n.label}
            </label>
          ))}
        </div>
        {errors.slack_app_notices && <p className="field-error">{errors.slack_app_notices.message}</p>}
      </fieldset>
      <ErrorNote error={errors.root?.server?.message} />
      {isAdmin && (
        <div className="actions">
          <button className="btn btn-primary" type="submit" disabled={save.isPending}>
            {save.isPending ? <Spinner label="Saving…" /> : "Save"}
          </button>
          <button
            className="btn"
            type="button"
            disabled={test.isPending}
            onClick={() =>
              test.mutate(undefined, {
                onSuccess: () => toast("A test notification is on its way to every channel.", "success"),
                onError: (e) => toast("The test was not sent.", "error", errorSentence(e)),
              })
            }
          >
            {test.isPending ? <Spinner label="Sending…" /> : "Send a test notification"}
          </button>
        </div>
      )}
    </form>
  );
}

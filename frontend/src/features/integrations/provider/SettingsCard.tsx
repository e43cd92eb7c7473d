import { useSession } from "../../../session";
import { connectionState } from "../status";
import type { PartProps } from "./parts";
import { SettingsForm } from "./SettingsForm";

/** The secrets every OAuth connection keeps, named for people. */
const secretLabels: Record<string, string> = { access_token: "Access token", refresh_token: "Refresh token" };

/** What is saved (secrets only as their last four), and for admins the form to change it. */
export function SettingsCard({ orgId, integration: i, provider }: PartProps) {
  const { isAdmin } = useSession();
  const isOAuth = i.auth_type === "oauth2";
  // OAuth settings asked before consent are changed by reconnecting, not here; what the
  // connection is pointed at is chosen from its list (ResourcesCard), not typed.
  const chosen = new Set((provider?.resources ?? []).map((r) => r.setting));
  const editable = (provider?.fields ?? []).filter((f) => (!isOAuth || !f.before_consent) && !chosen.has(f.key));
  return (
    <section className="card" aria-labelledby="fields-title">
      <h2 id="fields-title">Settings</h2>
      {isOAuth &&
        (provider?.fields ?? [])
          .filter((f) => f.before_consent)
          .map((f) => (
            <p key={f.key}>
              {f.label}: <code>{i.config[f.key] ?? "—"}</code>
            </p>
          ))}
      {Object.entries(i.credentials).map(([key, c]) => (
        <p key={key}>
          {provider?.fields.find((f) => f.key === key)?.label ?? secretLabels[key] ?? key}:{" "}
          {c.configured ? <code>•••• {c.last4 ?? ""}</code> : <span className="muted">not set</span>}
        </p>
      ))}
      {isAdmin && editable.length > 0 && (
        <SettingsForm orgId={orgId} integration={i} fields={editable} keepsSaved={connectionState(i).live} />
      )}
      {editable.length === 0 && <p className="muted">Nothing to set here: access comes from the provider's consent.</p>}
    </section>
  );
}

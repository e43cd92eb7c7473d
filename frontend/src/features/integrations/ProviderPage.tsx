import * as Switch from "@radix-ui/react-switch";
import { useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { errorSentence } from "../../api/client";
import type { EventItem, Integration, TestResult } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Logo } from "../../components/Logo";
import { Spinner } from "../../components/Spinner";
import { StatusBadge } from "../../components/StatusBadge";
import { useToast } from "../../components/Toasts";
import { useOrgId, useSession } from "../../session";
import { dateTime, relativeTime } from "../../time";
import { ConnectButton } from "./ConnectDialog";
import { DisconnectDialog } from "./DisconnectDialog";
import { HealthStrip } from "./HealthStrip";
import { SettingsForm } from "./provider/SettingsForm";
import { connectionState } from "./status";
import { useOAuthLanding } from "./landing";
import { useIntegration, useIntegrationEvents, usePatchIntegration, useProviders, useTestIntegration } from "./queries";
import { useFeatureFlags } from "../settings/queries";

export default function ProviderPage() {
  const { provider: id = "" } = useParams();
  const orgId = useOrgId();
  const integration = useIntegration(orgId, id);
  useOAuthLanding(integration.data ? { [id]: integration.data.name } : undefined);
  if (integration.isPending) return <Spinner label="Loading…" />;
  if (integration.error) return <ErrorNote error={integration.error} />;
  return <Details orgId={orgId} integration={integration.data} />;
}

function Details({ orgId, integration: i }: { orgId: string; integration: Integration }) {
  const { isAdmin } = useSession();
  const [params] = useSearchParams();
  const provider = useProviders().data?.find((p) => p.id === i.provider);
  const patch = usePatchIntegration(orgId);
  const test = useTestIntegration(orgId);
  const toast = useToast();
  const [tested, setTested] = useState<TestResult | null>(null);
  const [confirming, setConfirming] = useState(false);
  const isOAuth = i.auth_type === "oauth2";
  const { live: connected, needsAttention } = connectionState(i);
  const editable = (provider?.fields ?? []).filter((f) => !isOAuth || !f.before_consent);

  const flags = useFeatureFlags(orgId, (all) => all.filter((f) => f.requires_connection === i.provider || f.key === provider?.feature_flag));
  const events = useIntegrationEvents(orgId, i.provider);
  const history: EventItem[] = events.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <div>
      <p>
        <Link to="/settings/integrations">← All integrations</Link>
      </p>
      <div className="page-head">
        <Logo name={i.name} />
        <div>
          <h1>{i.name}</h1>
          <p className="muted">{i.description}</p>
        </div>
        <StatusBadge status={i.status} />
      </div>
      {i.last_error && needsAttention && (
        <p className="error-note" role="alert">
          {i.last_error.message}
        </p>
      )}

      <div className="grid-2">
        <section className="card" aria-labelledby="conn-title">
          <h2 id="conn-title">Connection</h2>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={i.status} />
            </dd>
            <dt>Account</dt>
            <dd>{i.account_name ? `Connected to ${i.account_name}` : "—"}</dd>
            {i.connected_at && (
              <>
                <dt>Connected</dt>
                <dd>{dateTime(i.connected_at)}</dd>
              </>
            )}
            <dt>Last sync</dt>
            <dd>{i.last_sync_at ? relativeTime(i.last_sync_at) : "Never"}</dd>
            <dt>Last test</dt>
            <dd>{i.last_tested_at ? relativeTime(i.last_tested_at) : "Never"}</dd>
            {isOAuth && (
              <>
                <dt>Token expires</dt>
                <dd>{i.token_expires_at ? `${dateTime(i.token_expires_at)} (${relativeTime(i.token_expires_at)})` : "—"}</dd>
                <dt>Scopes</dt>
                <dd>
                  {(i.scopes.length ? i.scopes : (provider?.scopes ?? [])).map((s) => (
                    <code key={s} className="chip">
                      {s}
                    </code>
                  ))}
                  {!i.scopes.length && <span className="muted small"> (requested)</span>}
                </dd>
              </>
            )}
            <dt>Docs</dt>
            <dd>
              <a href={i.docs_url} rel="noreferrer">
                {i.name} documentation
              </a>
            </dd>
          </dl>
          {isAdmin && (
            <div className="actions wrap">
              {connected && (
                <label className="switch-row">
                  <Switch.Root
                    className="switch"
                    checked={i.enabled}
                    aria-label={`${i.name} enabled`}
                    disabled={patch.isPending}
                    onCheckedChange={(enabled) =>
                      patch.mutate(
                        { provider: i.provider, enabled },
                        { onError: (e) => toast(`${i.name}: that did not work.`, "error", errorSentence(e)) },
                      )
                    }
                  >
                    <Switch.Thumb className="switch-thumb" />
                  </Switch.Root>
                  {i.enabled ? "Enabled" : "Disabled"}
                </label>
              )}
              {connected && (
                <button
                  type="button"
                  className="btn"
                  disabled={test.isPending}
                  onClick={() => test.mutate(i.provider, { onSuccess: setTested, onError: () => setTested(null) })}
                >
                  {test.isPending ? <Spinner label="Testing…" /> : "Test connection"}
                </button>
              )}
              <ConnectButton
                orgId={orgId}
                integration={i}
                provider={provider}
                label={connected ? "Reconnect" : "Connect"}
                className={connected ? "btn" : "btn btn-primary"}
                returnTo={`/settings/integrations/${i.provider}`}
                autoOpen={params.get("reconnect") === "1"}
              />
              {connected && (
                <button type="button" className="btn btn-danger" onClick={() => setConfirming(true)}>
                  Disconnect
                </button>
              )}
            </div>
          )}
          {tested && (
            <p role="status" className={tested.ok ? "ok-note" : "error-note"}>
              {tested.ok ? "Test passed: " : "Test failed: "}
              {tested.message}
            </p>
          )}
          <ErrorNote error={test.error} />
        </section>

        <section className="card" aria-labelledby="fields-title">
          <h2 id="fields-title">Settings</h2>
          {i.auth_type === "oauth2" &&
            (provider?.fields ?? [])
              .filter((f) => f.before_consent)
              .map((f) => (
                <p key={f.key}>
                  {f.label}: <code>{i.config[f.key] ?? "—"}</code>
                </p>
              ))}
          {Object.entries(i.credentials).map(([key, c]) => (
            <p key={key}>
              {provider?.fields.find((f) => f.key === key)?.label ?? key}:{" "}
              {c.configured ? <code>•••• {c.last4 ?? ""}</code> : <span className="muted">not set</span>}
            </p>
          ))}
          {isAdmin && editable.length > 0 && (
            <SettingsForm orgId={orgId} integration={i} fields={editable} keepsSaved={connected} />
          )}
          {editable.length === 0 && <p className="muted">Nothing to set here: access comes from the provider's consent.</p>}
        </section>
      </div>

      <section className="card" aria-labelledby="flags-title">
        <h2 id="flags-title">Feature flags it drives</h2>
        {flags.data?.length ? (
          <ul>
            {flags.data.map((f) => (
              <li key={f.key}>
                <strong>{f.name}</strong> — {f.effective ? "on" : "off"}
                <span className="muted small"> ({f.description})</span>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No feature flag depends on this integration.</p>
        )}
        <Link to="/settings/feature-flags">Manage feature flags</Link>
      </section>

      <section className="card" aria-labelledby="health-title">
        <h2 id="health-title">Health</h2>
        <HealthStrip events={history} />
      </section>

      <section className="card" aria-labelledby="history-title">
        <h2 id="history-title">Event history</h2>
        {events.isPending && <Spinner label="Loading history…" />}
        {history.length === 0 && events.isSuccess && <p className="muted">Nothing has happened yet.</p>}
        {history.length > 0 && (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Result</th>
                <th scope="col">What happened</th>
              </tr>
            </thead>
            <tbody>
              {history.map((e) => (
                <tr key={e.id}>
                  <td>{dateTime(e.created_at)}</td>
                  <td>{e.action.replace(/_/g, " ")}</td>
                  <td>{e.success ? "OK" : "Failed"}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {events.hasNextPage && (
          <button type="button" className="btn" onClick={() => events.fetchNextPage()} disabled={events.isFetchingNextPage}>
            {events.isFetchingNextPage ? <Spinner label="Loading…" /> : "Older events"}
          </button>
        )}
      </section>

      <DisconnectDialog orgId={orgId} integration={i} open={confirming} onOpenChange={setConfirming} />
    </div>
  );
}

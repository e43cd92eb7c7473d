import { errorSentence } from "../../api/client";
import { ErrorNote } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";
import { dateTime } from "../../time";
import { usePlatformCheck, useReadiness } from "./queries";

const statusWords: Record<string, string> = { ready: "Ready", setup_needed: "Setup needed", partial: "Partly set up" };

export default function Readiness() {
  const { me } = useSession();
  const readiness = useReadiness(!!me?.platform_admin);
  if (!me?.platform_admin) {
    return (
      <div>
        <h1>Platform readiness</h1>
        <p>Only platform administrators can see this page.</p>
      </div>
    );
  }
  const data = readiness.data;
  return (
    <div>
      <h1>Platform readiness</h1>
      <p className="muted">Which platform settings are in place for each provider. Values are never shown, only whether they are set.</p>
      {readiness.isPending && <Spinner label="Loading…" />}
      <ErrorNote error={readiness.error} />
      {data && (
        <>
          <section className="card" aria-labelledby="svc-title">
            <h2 id="svc-title">Service readiness</h2>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Status</th>
                  <th scope="col">Environment variables</th>
                  <th scope="col">Summary</th>
                </tr>
              </thead>
              <tbody>
                {data.services.map((s) => (
                  <tr key={s.provider}>
                    <td>
                      <strong>{s.name}</strong>
                      <div className="muted small">{s.description}</div>
                    </td>
                    <td>
                      <span className={`badge ${s.status === "ready" ? "badge-connected" : "badge-expired"}`}>{statusWords[s.status] ?? s.status}</span>
                    </td>
                    <td>
                      {s.variables.map((v) => (
                        <div key={v.name}>
                          <code>{v.name}</code> {v.configured ? "✓ set" : "✗ missing"}
                        </div>
                      ))}
                    </td>
                    <td>
                      {s.summary}
                      {s.level === "platform" && <PlatformCheck provider={s.provider} name={s.name} />}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card" aria-labelledby="inbound-title">
            <h2 id="inbound-title">Inbound webhooks</h2>
            <p className="muted small">Register each URL with the provider's app; deliveries are verified with the secret named.</p>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">URL to register</th>
                  <th scope="col">Secret</th>
                  <th scope="col">Last delivery</th>
                  <th scope="col">Deliveries</th>
                </tr>
              </thead>
              <tbody>
                {data.inbound_webhooks.map((w) => (
                  <tr key={w.provider}>
                    <td>
                      <a href={w.docs_url}>
                        {w.name}
                      </a>
                    </td>
                    <td>
                      {w.urls.map((u) => (
                        <div key={u}>
                          <code>{u}</code>
                        </div>
                      ))}
                    </td>
                    <td>
                      <code>{w.secret_variable}</code> {w.secret_configured ? "✓ set" : "✗ missing"}
                    </td>
                    <td>{w.last_delivery_at ? dateTime(w.last_delivery_at) : "None yet"}</td>
                    <td>
                      {w.accepted} accepted, {w.refused} refused (bad signature), {w.unmatched} unmatched
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card" aria-labelledby="health-sum">
            <h2 id="health-sum">Health summary</h2>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Health</th>
                  <th scope="col">Connections</th>
                  <th scope="col">Latest</th>
                  <th scope="col">What to do</th>
                </tr>
              </thead>
              <tbody>
                {data.health.map((h) => (
                  <tr key={h.provider}>
                    <td>{h.name}</td>
                    <td>{h.health.replace(/_/g, " ")}</td>
                    <td>
                      {h.counts.connected} connected, {h.counts.expired} expired, {h.counts.error} error of {h.counts.total}
                    </td>
                    <td>{h.latest_event ? `${h.latest_event.message} (${dateTime(h.latest_event.created_at)})` : "—"}</td>
                    <td>{h.guidance}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card" aria-labelledby="check-title">
            <h2 id="check-title">Account and key checklist</h2>
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col">Priority</th>
                  <th scope="col">Status</th>
                  <th scope="col">What to collect</th>
                  <th scope="col">Missing</th>
                </tr>
              </thead>
              <tbody>
                {data.checklist.map((c) => (
                  <tr key={c.key}>
                    <td>
                      <strong>{c.title}</strong>
                      <div className="muted small">{c.description}</div>
                      <div className="small">{c.notes}</div>
                    </td>
                    <td>{c.priority}</td>
                    <td>{statusWords[c.status] ?? c.status}</td>
                    <td>{c.collect.join(", ")}</td>
                    <td>{c.missing.length ? c.missing.join(", ") : "Nothing"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card" aria-labelledby="sync-title">
            <h2 id="sync-title">Recent sync history</h2>
            {data.history.data.length === 0 ? (
              <p className="muted">Nothing has happened yet.</p>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Organization</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Action</th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {data.history.data.map((e) => (
                    <tr key={e.id}>
                      <td>{dateTime(e.created_at)}</td>
                      <td>{e.org_name}</td>
                      <td>{e.provider_name}</td>
                      <td>{e.action.replace(/_/g, " ")}</td>
                      <td>
                        {e.success ? "OK" : "Failed"}: {e.message}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}

/** Runs a platform-level provider's live check with the platform's own variables. */
function PlatformCheck({ provider, name }: { provider: string; name: string }) {
  const check = usePlatformCheck(provider);
  return (
    <div className="stack">
      <button type="button" className="btn btn-small" onClick={() => check.mutate()} disabled={check.isPending} aria-label={`Check ${name} now`}>
        {check.isPending ? <Spinner label="Checking…" /> : "Check now"}
      </button>
      {check.data && (
        <p role="status" className={check.data.ok ? "ok-note small" : "error-note small"}>
          {check.data.message}
        </p>
      )}
      {check.error && (
        <p role="alert" className="error-note small">
          {errorSentence(check.error)}
        </p>
      )}
    </div>
  );
}

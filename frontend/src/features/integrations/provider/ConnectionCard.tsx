import { useSession } from "../../../session";
import { dateTime, relativeTime } from "../../../time";
import { StatusBadge } from "../../../components/StatusBadge";
import { ConnectionActions } from "./ConnectionActions";
import type { PartProps } from "./parts";
import type { Integration } from "../../../api/types";

/** Who made the last call through the proxy, as a person reads it. */
function usedBy(used: NonNullable<Integration["last_used"]>): string {
  if (used.by_type === "api_key") return `API key “${used.by_name ?? "no longer listed"}”`;
  if (used.by_type === "user") return used.by_name ?? "a former member";
  return "Plugboard";
}
/** The connection's facts, and what an admin can do with it. */
export function ConnectionCard(props: PartProps) {
  const { integration: i, provider } = props;
  const { isAdmin } = useSession();
  const isOAuth = i.auth_type === "oauth2";
  return (
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
        <dt>Last used</dt>
        <dd>{i.last_used ? `${relativeTime(i.last_used.at)} by ${usedBy(i.last_used)}` : "Never, through Plugboard's proxy"}</dd>
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
      {isAdmin && <ConnectionActions {...props} />}
    </section>
  );
}

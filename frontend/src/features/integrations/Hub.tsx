import { useMemo, useState } from "react";
import { Link } from "react-router";
import type { Integration, Provider } from "../../api/types";
import { Logo } from "../../components/Logo";
import { Spinner } from "../../components/Spinner";
import { StatusBadge } from "../../components/StatusBadge";
import { ErrorNote } from "../../components/FormField";
import { categoryText, statusText } from "../../copy";
import { useOrgId, useSession } from "../../session";
import { relativeTime } from "../../time";
import { groupByCategory } from "./catalog";
import { ConnectButton } from "./ConnectDialog";
import { useOAuthLanding } from "./landing";
import { useIntegrations, useProviders } from "./queries";
import { RowMenu } from "./RowMenu";
import { connectionState } from "./status";

export default function Hub() {
  const orgId = useOrgId();
  const { isAdmin } = useSession();
  const integrations = useIntegrations(orgId);
  const providers = useProviders();
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [category, setCategory] = useState("");
  const names = useMemo(
    () => (integrations.data ? Object.fromEntries(integrations.data.map((i) => [i.provider, i.name])) : undefined),
    [integrations.data],
  );
  useOAuthLanding(names);

  const byId = useMemo(() => new Map((providers.data ?? []).map((p) => [p.id, p])), [providers.data]);
  const list = integrations.data ?? [];
  const shown = list.filter(
    (i) =>
      (!search || `${i.name} ${i.description} ${i.category_label}`.toLowerCase().includes(search.toLowerCase())) &&
      (!status || i.status === status) &&
      (!category || i.category === category),
  );
  const attention = shown.filter((i) => connectionState(i).needsAttention);
  const groups = groupByCategory(shown.filter((i) => !connectionState(i).needsAttention));
  const categories = groupByCategory(list).map(([key, items]) => [key, items[0]?.category_label ?? key] as const);

  return (
    <div>
      <h1>Integrations</h1>
      <p className="muted">Connect third-party services to enhance your store's capabilities.</p>
      <div className="filters" role="search">
        <label>
          Search
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Name or category" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All statuses</option>
            {Object.entries(statusText).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Category
          <select value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All categories</option>
            {categories.map(([key, label]) => (
              <option key={key} value={key}>
                {categoryText[key]?.title ?? label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {integrations.isPending && <Spinner label="Loading integrations…" />}
      <ErrorNote error={integrations.error} />
      {attention.length > 0 && (
        <section className="card attention" aria-labelledby="attention-title">
          <h2 id="attention-title">Needs attention</h2>
          <p className="muted">These connections stopped working. Reconnect them to resume their features.</p>
          <ul className="rows">
            {attention.map((i) => (
              <Row key={i.provider} orgId={orgId} integration={i} provider={byId.get(i.provider)} isAdmin={isAdmin} attention />
            ))}
          </ul>
        </section>
      )}
      {groups.map(([key, items]) => (
        <section key={key} className="card" aria-labelledby={`cat-${key}`}>
          <h2 id={`cat-${key}`}>{categoryText[key]?.title ?? items[0]?.category_label}</h2>
          {categoryText[key] && <p className="muted">{categoryText[key].description}</p>}
          <ul className="rows">
            {items.map((i) => (
              <Row key={i.provider} orgId={orgId} integration={i} provider={byId.get(i.provider)} isAdmin={isAdmin} />
            ))}
          </ul>
        </section>
      ))}
      {integrations.isSuccess && shown.length === 0 && <p>No integration matches these filters.</p>}
    </div>
  );
}

interface RowProps {
  orgId: string;
  integration: Integration;
  provider: Provider | undefined;
  isAdmin: boolean;
  attention?: boolean;
}

function Row({ orgId, integration: i, provider, isAdmin, attention }: RowProps) {
  const { live } = connectionState(i);
  return (
    <li className="row" aria-label={i.name}>
      <Logo name={i.name} />
      <div className="row-main">
        <Link to={`/settings/integrations/${i.provider}`} className="row-name">
          {i.name}
        </Link>
        <p className="muted small">
          {i.account_name ? `Connected to ${i.account_name}` : i.description}
        </p>
        {attention && i.last_error && <p className="field-error small">{i.last_error.message}</p>}
      </div>
      <div className="row-side">
        <StatusBadge status={i.status} />
        {i.last_sync_at && <span className="muted small">Last sync: {relativeTime(i.last_sync_at)}</span>}
        {!i.last_sync_at && i.last_tested_at && (
          <span className="muted small">Last checked: {relativeTime(i.last_tested_at)}</span>
        )}
        {isAdmin && attention && (
          <ConnectButton orgId={orgId} integration={i} provider={provider} label="Reconnect" returnTo="/settings/integrations" />
        )}
        {isAdmin && !attention && !live && (
          <ConnectButton orgId={orgId} integration={i} provider={provider} returnTo="/settings/integrations" />
        )}
        {isAdmin && live && <RowMenu orgId={orgId} integration={i} provider={provider} />}
        {!isAdmin && (
          <Link className="btn btn-small" to={`/settings/integrations/${i.provider}`}>
            View
          </Link>
        )}
      </div>
    </li>
  );
}

import { Link, useParams } from "react-router";
import type { Integration } from "../../api/types";
import { ErrorNote } from "../../components/FormField";
import { Logo } from "../../components/Logo";
import { Spinner } from "../../components/Spinner";
import { StatusBadge } from "../../components/StatusBadge";
import { useOrgId } from "../../session";
import { useOAuthLanding } from "./landing";
import { ConnectionCard } from "./provider/ConnectionCard";
import { FlagsCard } from "./provider/FlagsCard";
import { HealthCard } from "./provider/HealthCard";
import { HistoryCard } from "./provider/HistoryCard";
import { ResourcesCard } from "./provider/ResourcesCard";
import { SettingsCard } from "./provider/SettingsCard";
import { useIntegration, useProviders } from "./queries";
import { connectionState } from "./status";

/** One connection: what it is, its settings, the flags it drives, its health and history. */
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
  const provider = useProviders().data?.find((p) => p.id === i.provider);
  const parts = { orgId, integration: i, provider };
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
      {i.last_error && connectionState(i).needsAttention && (
        <p className="error-note" role="alert">
          {i.last_error.message}
        </p>
      )}
      <div className="grid-2">
        <ConnectionCard {...parts} />
        <SettingsCard {...parts} />
      </div>
      <ResourcesCard {...parts} />
      <FlagsCard {...parts} />
      <HealthCard {...parts} />
      <HistoryCard {...parts} />
    </div>
  );
}

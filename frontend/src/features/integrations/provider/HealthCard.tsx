import { HealthStrip } from "../HealthStrip";
import { useIntegrationEvents } from "../queries";
import type { PartProps } from "./parts";

/** The recent checks at a glance, from the history's loaded pages. */
export function HealthCard({ orgId, integration: i }: PartProps) {
  const events = useIntegrationEvents(orgId, i.provider);
  return (
    <section className="card" aria-labelledby="health-title">
      <h2 id="health-title">Health</h2>
      <HealthStrip events={events.data?.pages.flatMap((p) => p.data) ?? []} />
    </section>
  );
}
